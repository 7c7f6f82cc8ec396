// Runs s3rver (a local S3 server) in its own process for the storage tests: node
// s3rver-server.mjs <directory> [port]. Prints {"port":N} once listening (port 0 or none: a
// free one); exits when stdin closes.
//
// s3rver 3.7.1 implements neither AbortMultipartUpload nor ListMultipartUploads (an open PR,
// jamhall/s3rver#784). The two small handlers below add them, following the S3 API and
// s3rver's own on-disk layout (<dir>/<bucket>/._S3rver_uploads/<uploadId>/), so that the
// abort path of the S3 driver runs over HTTP with the real SDK and the tests can check that
// no parts are left. s3rver also does not verify SigV4 signatures or implement lifecycle.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';

const directory = process.argv[2];
if (!directory) throw new Error('usage: s3rver-server.mjs <directory> [port]');
const wantedPort = Number(process.argv[3] ?? 0);

const uploadsDir = (bucket) => join(directory, bucket, '._S3rver_uploads');
const xmlEscape = (s) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function multipartShim(ctx, next) {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
  const bucket = match?.[1];
  if (ctx.method === 'DELETE' && match?.[2] && typeof ctx.query.uploadId === 'string') {
    const uploadId = ctx.query.uploadId;
    if (!/^[\w-]+$/.test(uploadId)) return next();
    const dir = join(uploadsDir(bucket), uploadId);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (!exists) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code></Error>';
      return;
    }
    await rm(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && bucket && !match?.[2] && 'uploads' in ctx.query) {
    const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
    const ids = await readdir(uploadsDir(bucket)).catch(() => []);
    const uploads = [];
    for (const id of ids) {
      const key = await readFile(join(uploadsDir(bucket), id, 'key'), 'utf8').catch(() => undefined);
      if (key === undefined || !key.startsWith(prefix)) continue;
      const initiated = (await stat(join(uploadsDir(bucket), id))).birthtime.toISOString();
      uploads.push(
        `<Upload><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId><Initiated>${initiated}</Initiated></Upload>`,
      );
    }
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`;
    return;
  }
  return next();
}

const server = new S3rver({ address: '127.0.0.1', port: wantedPort, directory, silent: true });
server.middleware.unshift(multipartShim); // Koa composes the middleware list when listening
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
