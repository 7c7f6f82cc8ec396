/*
 * libxlsxwriter (C, constant_memory mode) writing the reference table: the peer "what a C
 * program would do" for Takeout's XLSX writer. The rows are shared/bench/gen.js's, by the
 * same algorithm (xorshift32, 17 draws per row, in the same order), built in C.
 * Same information as Takeout's file: typed cells, a bold frozen header with an autofilter,
 * column widths, created_at as a date-time with format yyyy-mm-dd hh:mm:ss, nulls empty.
 *
 * Usage: libxlsxwriter FILE ROWS       writes the workbook
 *        libxlsxwriter - ROWS          only generates the rows (the cost to subtract)
 * Built by bench/cases/xlsx-libxlsxwriter.js with: cc -O2 libxlsxwriter.c -lxlsxwriter
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

static const char *COLUMNS[] = {"id", "uuid", "name", "email", "amount",
                                "quantity", "created_at", "active", "note", "country"};
static const char *FIRST[] = {"Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta",
                              "Hiro", "Ines", "Jonas", "Keiko", "Liam", "Maya", "Nikos",
                              "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tariq"};
static const char *LAST[] = {"Anderson", "Bianchi", "Costa", "Dubois", "Eriksen",
                             "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen",
                             "Kowalski", "Larsen", "Moreau", "Novak", "Okafor",
                             "Petrov", "Quist", "Rossi", "Schmidt", "Tanaka"};
static const char *DOMAINS[] = {"example.com", "example.org", "mail.test", "corp.example", "shop.test"};
static const char *COUNTRIES[] = {"US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "NO", "DK",
                                  "PL", "PT", "IE", "CA", "AU", "JP", "BR", "MX", "IN", "ZA"};
static const char *NOTES[] = {
    "Customer asked for a later delive", "Paid by bank transfer, no receipt",
    "Gift wrap requested on the parcel", "Call before shipping the big item",
    "Returned item was swapped quickly", "Invoice must show the VAT number.",
    "Leave the parcel with a neighbour", "Second order this month; loyalty.",
    "Discount code applied at checkout", "Address verified by phone support",
};
static const int64_t BASE_S = 1577836800; /* 2020-01-01T00:00:00Z */
static const uint32_t SPAN_S = 157766400;

static uint32_t x = 2463534242u;
static uint32_t next(void) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

struct row {
  double id, amount, quantity;
  char uuid[40], name[64], email[64], note[48];
  int64_t created_at;
  int active, has_note;
  const char *country;
};

static void lower(char *out, const char *s) {
  while (*s) *out++ = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s), s++;
  *out = 0;
}

static void make_row(struct row *r, uint32_t i) {
  uint32_t a = next(), b = next(), c = next(), d = next();
  snprintf(r->uuid, sizeof r->uuid, "%08x-%04x-%04x-%04x-%04x%08x", a, b >> 16, b & 0xffff, c >> 16,
           c & 0xffff, d);
  uint32_t fi = next() % 20, li = next() % 20, sp = next() % 1000;
  if (sp < 20) snprintf(r->name, sizeof r->name, "%s, %s", LAST[li], FIRST[fi]);
  else if (sp < 25) snprintf(r->name, sizeof r->name, "%s \"Ace\" %s", FIRST[fi], LAST[li]);
  else if (sp < 27) snprintf(r->name, sizeof r->name, "%s\n%s", FIRST[fi], LAST[li]);
  else snprintf(r->name, sizeof r->name, "%s %s", FIRST[fi], LAST[li]);
  uint32_t enr = next() % 1000, dom = next() % 5;
  char fl[16], ll[16];
  lower(fl, FIRST[fi]);
  lower(ll, LAST[li]);
  snprintf(r->email, sizeof r->email, "%s.%s%u@%s", fl, ll, enr, DOMAINS[dom]);
  r->id = i;
  r->amount = (double)(next() % 10000000) / 100;
  r->quantity = next() % 1000 + 1;
  r->created_at = BASE_S + next() % SPAN_S;
  r->active = next() % 2 == 1;
  uint32_t nsel = next() % 3, nph = next() % 10, nnr = next() % 100000;
  r->has_note = nsel != 0;
  if (r->has_note) snprintf(r->note, sizeof r->note, "%s #%05u", NOTES[nph], nnr);
  r->country = COUNTRIES[next() % 20];
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s FILE|- ROWS\n", argv[0]);
    return 2;
  }
  uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
  struct row r;
  if (strcmp(argv[1], "-") == 0) {
    uint64_t check = 0;
    for (uint32_t i = 1; i <= n; i++) make_row(&r, i), check += (uint64_t)r.quantity;
    printf("%llu\n", (unsigned long long)check);
    return 0;
  }
  lxw_workbook_options options = {.constant_memory = LXW_TRUE, .tmpdir = NULL, .use_zip64 = LXW_TRUE};
  lxw_workbook *book = workbook_new_opt(argv[1], &options);
  lxw_worksheet *sheet = workbook_add_worksheet(book, "Sheet1");
  lxw_format *bold = workbook_add_format(book);
  format_set_bold(bold);
  lxw_format *when = workbook_add_format(book);
  format_set_num_format(when, "yyyy-mm-dd hh:mm:ss");
  static const double widths[] = {9, 38, 19, 33, 10, 10, 21, 8, 42, 9};
  for (lxw_col_t c = 0; c < 10; c++) worksheet_set_column(sheet, c, c, widths[c], NULL);
  worksheet_freeze_panes(sheet, 1, 0);
  worksheet_autofilter(sheet, 0, 0, n, 9);
  for (lxw_col_t c = 0; c < 10; c++) worksheet_write_string(sheet, 0, c, COLUMNS[c], bold);
  for (uint32_t i = 1; i <= n; i++) {
    make_row(&r, i);
    worksheet_write_number(sheet, i, 0, r.id, NULL);
    worksheet_write_string(sheet, i, 1, r.uuid, NULL);
    worksheet_write_string(sheet, i, 2, r.name, NULL);
    worksheet_write_string(sheet, i, 3, r.email, NULL);
    worksheet_write_number(sheet, i, 4, r.amount, NULL);
    worksheet_write_number(sheet, i, 5, r.quantity, NULL);
    worksheet_write_unixtime(sheet, i, 6, r.created_at, when);
    worksheet_write_boolean(sheet, i, 7, r.active, NULL);
    if (r.has_note) worksheet_write_string(sheet, i, 8, r.note, NULL);
    worksheet_write_string(sheet, i, 9, r.country, NULL);
  }
  lxw_error error = workbook_close(book);
  if (error != LXW_NO_ERROR) {
    fprintf(stderr, "libxlsxwriter: %s\n", lxw_strerror(error));
    return 1;
  }
  return 0;
}
