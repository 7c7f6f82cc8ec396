import { readFileSync } from 'node:fs';
import { isTakeoutError } from '../errors.js';
import { EXPORT_USAGE, exportCommand } from './export.js';
import { JOBS_USAGE } from './jobs.js';
import { RemoteProblem } from './remote-client.js';
import { SERVE_USAGE, serveCommand } from './serve.js';
import { TOKEN_USAGE } from './token.js';
import { type CliIo, RequestError, UsageError } from './usage.js';

const USAGE = `Usage: takeout <command> [options]

Commands:
  serve            serve the HTTP API (see: takeout serve --help)
  worker           run background export workers only, with REDIS_URL (see: takeout worker --help)
  export           write a file from rows, a SQL query or a dataset (see: takeout export --help)
  storage setup    check the bucket and apply the lifecycle rule (see: takeout storage --help)
  jobs             list, show or cancel background exports (see: takeout jobs --help)
  token            make an API token and its hashed config entry (see: takeout token --help)
  migrate          apply the job store's schema migrations
  --version        print the version`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

/** Printed after a usage error of the command. */
const USAGES: Record<string, string> = {
  export: EXPORT_USAGE,
  jobs: JOBS_USAGE,
  serve: SERVE_USAGE,
  token: TOKEN_USAGE,
};

const commands: Record<string, Command> = {
  serve: serveCommand,
  export: exportCommand,
  storage: async (argv, io) => (await import('./storage.js')).storageCommand(argv, io),
  jobs: async (argv, io) => (await import('./jobs.js')).jobsCommand(argv, io),
  worker: async (argv, io) => (await import('./worker.js')).workerCommand(argv, io),
  migrate: async (argv, io) => (await import('./jobs.js')).migrateCommand(argv, io),
  token: async (argv, io) => (await import('./token.js')).tokenCommand(argv, io),
};

/** Runs the CLI; returns the exit code. Errors are one line: `takeout: <code>: <message>`. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  // The AWS SDK warns on Node 20, in plain text on stderr, that its future releases need Node
  // 22: a maintainer's concern (the lockfile pins the SDK) that would break the JSON lines of
  // serve's and worker's logs and bury the one-line results of the other commands.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    io.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const command = name ? commands[name] : undefined;
  if (!command) {
    (name && name !== '--help' && name !== '-h' ? io.stderr : io.stdout).write(
      `${name && name !== '--help' && name !== '-h' ? `takeout: unknown command ${JSON.stringify(name)}\n` : ''}${USAGE}\n`,
    );
    return name && name !== '--help' && name !== '-h' ? 2 : 0;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    // The reader of stdout went away (`takeout export -o - | head`): it has what it wanted.
    if ((error as NodeJS.ErrnoException)?.code === 'EPIPE') return 0;
    if (error instanceof RemoteProblem) {
      io.stderr.write(`takeout: ${error.code}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof RequestError) {
      io.stderr.write(`takeout: ${error.error.code}: ${error.error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(
        `takeout: ${(error as Error).message}\n${name && USAGES[name] ? `\n${USAGES[name]}\n` : ''}`,
      );
      return 2;
    }
    if (isTakeoutError(error)) {
      // On the command line the query is the user's own: the database's words help them fix it.
      const cause =
        error.code.startsWith('source_') && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      io.stderr.write(`takeout: ${error.code}: ${error.message}${cause.replace(/\s+/g, ' ')}\n`);
      if (error.code === 'internal' && io.env.DEBUG)
        io.stderr.write(`${String((error.cause as Error)?.stack)}\n`);
      return 1;
    }
    io.stderr.write(`takeout: ${(error as Error)?.message ?? String(error)}\n`);
    return 1;
  }
}
