import { didYouMean } from '../did-you-mean.js';
import { isTakeoutError } from '../errors.js';
import { scrubber, secretsOf } from '../logging.js';
import { takeoutVersion } from '../version.js';
import { exportCommand } from './export.js';
import { RemoteProblem } from './remote-client.js';
import { serveCommand } from './serve.js';
import { type CliIo, CommandError, RequestError, UsageError } from './usage.js';

const USAGE = `Usage: takeout <command> [options]

Commands:
  serve            serve the HTTP API (see: takeout serve --help)
  worker           run background export workers only, with REDIS_URL (see: takeout worker --help)
  export           write a file from rows, a SQL query or a dataset (see: takeout export --help)
  storage setup    check the bucket and apply the lifecycle rule (see: takeout storage --help)
  storage sweep    delete the files whose retention has ended, now
  jobs             list, show, cancel or delete background exports (see: takeout jobs --help)
  notifications    list deliveries of notifications, send failed ones again
                   (see: takeout notifications --help)
  token            make an API token and its hashed config entry (see: takeout token --help)
  migrate          apply the job store's schema migrations
  help <command>   print the command's help (as takeout <command> --help does)
  --version        print the version
  --help           print this help`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

/** Printed after a usage error of the command; loaded only then (worker's module is heavy). */
const USAGES: Record<string, () => Promise<string>> = {
  export: async () => (await import('./export.js')).EXPORT_USAGE,
  jobs: async () => (await import('./jobs.js')).JOBS_USAGE,
  migrate: async () => (await import('./jobs.js')).MIGRATE_USAGE,
  notifications: async () => (await import('./notifications.js')).NOTIFICATIONS_USAGE,
  serve: async () => (await import('./serve.js')).SERVE_USAGE,
  storage: async () => (await import('./storage.js')).STORAGE_USAGE,
  token: async () => (await import('./token.js')).TOKEN_USAGE,
  worker: async () => (await import('./worker.js')).WORKER_USAGE,
};

/**
 * What an error line must never show: the environment's secrets, passwords in URLs, and the
 * `--token` given (a driver's or fetch's message may echo a connection string or a URL).
 */
function scrubberFor(argv: string[], env: NodeJS.ProcessEnv): (text: string) => string {
  const given = argv.flatMap((arg, i) => {
    if (arg === '--token') return argv[i + 1] ?? [];
    return arg.startsWith('--token=') ? arg.slice('--token='.length) : [];
  });
  const args = Object.fromEntries(argv.map((arg, i) => [`ARG${i}`, arg]));
  return scrubber([...secretsOf(env), ...secretsOf(args), ...given.filter((t) => t.length >= 8)]);
}

/** A word the user typed, shown back: as it is when plain, else quoted. */
function shown(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word);
}

/**
 * `takeout: unknown option --fromat (did you mean --format?)` and where the options are
 * listed: the command's usage would push the one line that matters off the screen.
 */
async function unknownOption(error: Error, name: string, rest: string[]): Promise<string> {
  const typed = /^Unknown option '(.*?)'/.exec(error.message)?.[1];
  if (typed === undefined) return `takeout: ${error.message}\n`;
  const usage = USAGES[name] ? await USAGES[name]() : '';
  const known = [...(usage.match(/--[a-z][a-z-]*[a-z]/g) ?? []), '--help'];
  const hint = typed.startsWith('--') ? didYouMean(typed.replace(/=.*$/s, ''), known) : '';
  return `takeout: unknown option ${shown(typed)}${hint}\n${seeHelp(name, rest)}`;
}

/** Where a command's help is: `see takeout jobs list --help` (a subcommand's is the same page). */
function seeHelp(name: string, rest: string[]): string {
  // Only a subcommand there is: a mistyped one's help would be the same error again.
  const sub = rest[0] !== undefined && SUBCOMMANDS[name]?.includes(rest[0]) ? ` ${rest[0]}` : '';
  return `see takeout ${name}${sub} --help\n`;
}

const SUBCOMMANDS: Record<string, readonly string[]> = {
  jobs: ['list', 'show', 'cancel', 'delete'],
  notifications: ['list', 'redeliver'],
  storage: ['setup', 'sweep'],
};

const commands: Record<string, Command> = {
  serve: serveCommand,
  export: exportCommand,
  storage: async (argv, io) => (await import('./storage.js')).storageCommand(argv, io),
  jobs: async (argv, io) => (await import('./jobs.js')).jobsCommand(argv, io),
  worker: async (argv, io) => (await import('./worker.js')).workerCommand(argv, io),
  migrate: async (argv, io) => (await import('./jobs.js')).migrateCommand(argv, io),
  notifications: async (argv, io) => (await import('./notifications.js')).notificationsCommand(argv, io),
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
    io.stdout.write(`${takeoutVersion()}\n`);
    return 0;
  }
  if (name === '--help' || name === '-h') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (name === 'help') {
    // `takeout help export` is `takeout export --help` (`takeout help jobs list` too).
    const [topic, ...more] = rest;
    if (topic === undefined) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    return main([topic, ...more, '--help'], io);
  }
  const command = name && Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    // Like `takeout jobs` and `takeout storage` alone: a command is missing, a usage error.
    if (!name) {
      io.stderr.write(`${USAGE}\n`);
      return 2;
    }
    // A typo: the word and its likely fix, not the whole usage above which it would scroll away.
    const what = name.startsWith('-') ? 'option' : 'command';
    const known = name.startsWith('-') ? ['--help', '--version'] : [...Object.keys(commands), 'help'];
    io.stderr.write(
      `takeout: unknown ${what} ${shown(name)}${didYouMean(name, known)}\nsee takeout --help\n`,
    );
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    // The reader of stdout went away (`takeout export -o - | head`): it has what it wanted.
    if ((error as NodeJS.ErrnoException)?.code === 'EPIPE') return 0;
    const scrub = scrubberFor(argv, io.env);
    const fail = (text: string, code: number) => {
      io.stderr.write(scrub(text));
      return code;
    };
    if (error instanceof RemoteProblem || error instanceof CommandError)
      return fail(`takeout: ${error.code}: ${error.message}\n`, 1);
    if (error instanceof RequestError)
      return fail(`takeout: ${error.error.code}: ${error.error.message}\n`, 2);
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      return fail(await unknownOption(error as Error, name as string, rest), 2);
    // One line and where the help is: the whole usage would scroll the line that matters away.
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      return fail(`takeout: ${(error as Error).message}\n${seeHelp(name as string, rest)}`, 2);
    if (isTakeoutError(error)) {
      // On the command line the query is the user's own: the database's words help them fix it.
      const cause =
        error.code.startsWith('source_') && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      const code = fail(`takeout: ${error.code}: ${error.message}${cause.replace(/\s+/g, ' ')}\n`, 1);
      if (error.code === 'internal' && io.env.DEBUG) fail(`${String((error.cause as Error)?.stack)}\n`, 1);
      return code;
    }
    return fail(`takeout: ${(error as Error)?.message ?? String(error)}\n`, 1);
  }
}
