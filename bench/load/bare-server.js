// The baseline of the sync-path load benchmark: a bare Fastify route that answers a POST with
// fixed bytes and the headers Takeout sends. node bare-server.js <file> <content-type>;
// prints {"port":N} once listening; exits when stdin closes.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [file, contentType] = process.argv.slice(2);
const bytes = readFileSync(file);
const app = Fastify({ logger: false });
app.post('/v1/exports', async (_request, reply) =>
  reply
    .header('content-type', contentType)
    .header('content-disposition', 'attachment; filename="orders.csv"')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(bytes),
);
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => app.close().then(() => process.exit(0)));
