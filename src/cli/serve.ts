import { loadConfig, type ServiceConfig } from '../config.js';
import { loadDatasetsFile } from '../datasets/config-file.js';
import { DatasetRegistry } from '../datasets/registry.js';
import { demoOrdersDataset, ensureDemoDatabase } from '../demo/orders.js';
import { anonymous, bearerTokens } from '../http/auth.js';
import { buildServer } from '../http/server.js';
import type { CliIo } from './usage.js';

export const SERVE_USAGE = `Usage: takeout serve

Serves the HTTP API. Settings come from the environment (docs/configuration.md):
  HOST, PORT                 where to listen (default 127.0.0.1:3000)
  TAKEOUT_DATA_DIR           state directory (default ./data)
  TAKEOUT_CONFIG             dataset config file (takeout.config.json or .js)
  TAKEOUT_DEMO               offer the demo "orders" dataset (default: on without TAKEOUT_CONFIG)
  TAKEOUT_API_TOKENS         token=user[:tenant],... (default: no authentication)
  TAKEOUT_SYNC_MAX_ROWS      largest export streamed in a response (default 250000)
  TAKEOUT_BODY_LIMIT         largest request body in bytes (default 10 MiB)
  LOG_LEVEL                  fatal|error|warn|info|debug (default info)`;

export async function startService(config: ServiceConfig) {
  const registry = new DatasetRegistry();
  if (config.demo) registry.add(demoOrdersDataset(ensureDemoDatabase(config.dataDir)));
  if (config.configFile)
    for (const dataset of await loadDatasetsFile(config.configFile)) registry.add(dataset);
  const app = await buildServer({
    datasets: registry,
    authenticate: config.apiTokens.size > 0 ? bearerTokens(config.apiTokens) : anonymous,
    syncMaxRows: config.syncMaxRows,
    bodyLimit: config.bodyLimit,
    logger: { level: config.logLevel, redact: ['req.headers.authorization'] },
  });
  if (config.apiTokens.size === 0) {
    app.log.warn(
      'TAKEOUT_API_TOKENS is not set: every caller is "anonymous". Set it before exposing Takeout.',
    );
  }
  await app.listen({ host: config.host, port: config.port });
  return app;
}

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const config = loadConfig(io.env);
  const app = await startService(config);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  io.stderr.write(
    `Takeout is serving ${base}\nTry: curl -OJ -X POST ${base}/v1/exports -H 'content-type: application/json' -d '{"dataset":"orders","format":"csv","params":{"country":"DE"}}'\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      app.log.info('shutting down');
      void app.close().then(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
