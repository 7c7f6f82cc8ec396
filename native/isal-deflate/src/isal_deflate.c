// Raw deflate of one chunk of a longer stream with Intel ISA-L (igzip), on the libuv thread
// pool, for Takeout's XLSX writer (src/formats/xlsx/zip.ts): the chunk continues a raw deflate
// stream whose last 32 KiB are given as the dictionary, and ends with a sync flush (byte
// aligned, not final), so chunks deflated in parallel concatenate into one valid stream, as
// pigz does. The chunk's CRC-32 is computed on the same thread (the caller chains them).
//
// Why by hand: node:zlib is the reference zlib, about 4 times slower than ISA-L's level 1 on
// spreadsheet XML at a similar ratio, and no maintained npm package binds ISA-L (or any deflate
// that takes a dictionary and a sync flush) as an addon.
#define NAPI_VERSION 8
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  const uint8_t *input;
  uint32_t input_length;
  uint8_t *dictionary;  // a copy: the caller's window slides on at once
  uint32_t dictionary_length;
  uint32_t level;
  size_t output_hint;  // the output buffer to start with, 0 for the default
  uint8_t *output;
  size_t output_length;
  uint32_t crc;
  const char *error;
} Task;

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), "ERR_ISAL_DEFLATE", "N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static size_t level_buffer_size(uint32_t level) {
  switch (level) {
    case 0:
      return ISAL_DEF_LVL0_DEFAULT;
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    default:
      return ISAL_DEF_LVL3_DEFAULT;
  }
}

// Runs on a thread-pool thread: touches no JavaScript value.
static void execute(napi_env env, void *data) {
  (void)env;
  Task *task = data;
  task->crc = crc32_gzip_refl(0, (unsigned char *)task->input, task->input_length);
  size_t level_size = level_buffer_size(task->level);
  struct isal_zstream *stream = malloc(sizeof *stream);
  uint8_t *level_buffer = level_size > 0 ? malloc(level_size) : NULL;
  // Deflate rarely grows data; stored blocks cost 5 bytes per 64 KiB. Grown below if need be.
  size_t capacity =
      task->output_hint > 0 ? task->output_hint : (size_t)task->input_length + task->input_length / 8 + 4096;
  uint8_t *output = malloc(capacity);
  if (stream == NULL || (level_size > 0 && level_buffer == NULL) || output == NULL) {
    task->error = "out of memory";
    goto done;
  }
  isal_deflate_init(stream);
  stream->level = task->level;
  stream->level_buf = level_buffer;
  stream->level_buf_size = (uint32_t)level_size;
  stream->flush = SYNC_FLUSH;
  stream->end_of_stream = 0;
  if (task->dictionary_length > 0 &&
      isal_deflate_set_dict(stream, task->dictionary, task->dictionary_length) != COMP_OK) {
    task->error = "isal_deflate_set_dict failed";
    goto done;
  }
  stream->next_in = (uint8_t *)task->input;
  stream->avail_in = task->input_length;
  size_t produced = 0;
  for (;;) {
    stream->next_out = output + produced;
    stream->avail_out = (uint32_t)(capacity - produced);
    if (isal_deflate(stream) != COMP_OK) {
      task->error = "isal_deflate failed";
      goto done;
    }
    produced = (size_t)(stream->next_out - output);
    // Room left in the output once all input is in means the sync flush is complete (igzip_lib.h).
    if (stream->avail_in == 0 && stream->avail_out > 0) break;
    if (stream->avail_out == 0) {
      uint8_t *grown = realloc(output, capacity * 2);
      if (grown == NULL) {
        task->error = "out of memory";
        goto done;
      }
      output = grown;
      capacity *= 2;
    }
  }
  task->output = output;
  task->output_length = produced;
  output = NULL;
done:
  free(output);
  free(level_buffer);
  free(stream);
}

// Rejects with an Error of `message`; failing that, with undefined, so the promise always settles.
static void reject(napi_env env, napi_deferred deferred, const char *message) {
  napi_value text = NULL, error = NULL;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, NULL, text, &error) != napi_ok) {
    napi_get_undefined(env, &error);
  }
  napi_reject_deferred(env, deferred, error);
}

// Back on the main thread: settles the promise and frees what the task held.
static void complete(napi_env env, napi_status status, void *data) {
  Task *task = data;
  if (status != napi_ok && task->error == NULL) task->error = "the deflate job was cancelled";
  napi_value result = NULL, output, crc;
  void *copy;
  if (task->error == NULL &&
      (napi_create_buffer_copy(env, task->output_length, task->output, &copy, &output) != napi_ok ||
       napi_create_uint32(env, task->crc, &crc) != napi_ok || napi_create_object(env, &result) != napi_ok ||
       napi_set_named_property(env, result, "output", output) != napi_ok ||
       napi_set_named_property(env, result, "crc", crc) != napi_ok)) {
    task->error = "could not create the result";
  }
  if (task->error != NULL) {
    reject(env, task->deferred, task->error);
  } else {
    napi_resolve_deferred(env, task->deferred, result);
  }
  napi_delete_reference(env, task->input_ref);
  napi_delete_async_work(env, task->work);
  free(task->output);
  free(task->dictionary);
  free(task);
}

static int bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *pointer;
  if (napi_get_typedarray_info(env, value, &type, length, &pointer, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = pointer;
  return 1;
}

// deflate(input: Uint8Array, dictionary: Uint8Array | null, level: 0-3, outputSize?: number): Promise<{ output, crc }>
static napi_value deflate_chunk(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *input, *dictionary = NULL;
  size_t input_length, dictionary_length = 0;
  double level_value;
  napi_valuetype dictionary_type;
  if (argc < 3 || !bytes_of(env, argv[0], &input, &input_length) ||
      napi_typeof(env, argv[1], &dictionary_type) != napi_ok ||
      napi_get_value_double(env, argv[2], &level_value) != napi_ok) {
    napi_throw_type_error(env, NULL, "deflate(input: Uint8Array, dictionary: Uint8Array | null, level: number)");
    return NULL;
  }
  if (dictionary_type != napi_null && dictionary_type != napi_undefined &&
      !bytes_of(env, argv[1], &dictionary, &dictionary_length)) {
    napi_throw_type_error(env, NULL, "dictionary must be a Uint8Array or null");
    return NULL;
  }
  if (!(level_value >= 0 && level_value <= ISAL_DEF_MAX_LEVEL) || level_value != (uint32_t)level_value ||
      input_length > (1u << 30)) {
    napi_throw_range_error(env, NULL, "level must be an integer 0-3 and the input at most 1 GiB");
    return NULL;
  }
  uint32_t level = (uint32_t)level_value;
  if (dictionary_length > IGZIP_HIST_SIZE) {  // only the last window's worth is used
    dictionary += dictionary_length - IGZIP_HIST_SIZE;
    dictionary_length = IGZIP_HIST_SIZE;
  }
  Task *task = calloc(1, sizeof *task);
  if (task == NULL || (dictionary_length > 0 && (task->dictionary = malloc(dictionary_length)) == NULL)) {
    free(task);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (dictionary_length > 0) memcpy(task->dictionary, dictionary, dictionary_length);
  task->dictionary_length = (uint32_t)dictionary_length;
  task->input = input;
  task->input_length = (uint32_t)input_length;
  task->level = level;
  // An optional 4th argument: the output buffer to start with (tests use a tiny one to make it grow).
  double hint = 0;
  if (argc >= 4 && napi_get_value_double(env, argv[3], &hint) == napi_ok && hint >= 64 && hint <= (1u << 30)) {
    task->output_hint = (size_t)hint;
  }
  napi_value promise = NULL, name;
  if (napi_create_reference(env, argv[0], 1, &task->input_ref) != napi_ok) goto fail;
  if (napi_create_promise(env, &task->deferred, &promise) != napi_ok) goto fail;
  if (napi_create_string_utf8(env, "isal-deflate", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, task, &task->work) != napi_ok) {
    goto fail;
  }
  if (napi_queue_async_work(env, task->work) != napi_ok) {
    napi_delete_async_work(env, task->work);
    goto fail;
  }
  return promise;  // complete() frees the task
fail:
  if (task->deferred != NULL) reject(env, task->deferred, "could not queue the deflate job");
  if (task->input_ref != NULL) napi_delete_reference(env, task->input_ref);
  free(task->dictionary);
  free(task);
  if (promise != NULL) return promise;  // settled, rejected
  napi_throw_error(env, "ERR_ISAL_DEFLATE", "could not start the deflate job");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"deflate", NULL, deflate_chunk, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, 1, properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
