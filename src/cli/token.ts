import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { tokenDigest } from '../auth/tokens.js';
import { refuseEmpty } from './flags.js';
import { type CliIo, UsageError } from './usage.js';

export const TOKEN_USAGE = `Usage: takeout token --id <principal> [--tenant <tenant>]

Makes a new API token for the config file's "tokens" (docs/configuration.md). Prints the token,
to hand to its user (it is kept nowhere), and the entry to add to the config file, which holds
only its SHA-256.`;

export async function tokenCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { id: { type: 'string' }, tenant: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(`${TOKEN_USAGE}\n`);
    return 0;
  }
  refuseEmpty(values);
  if (!values.id) throw new UsageError('--id is required');
  // `:` separates ID:TENANT in --principal, `jobs list --owner` and TAKEOUT_API_TOKENS: a
  // principal with one in its id or tenant could never be named there.
  for (const flag of ['id', 'tenant'] as const) {
    if (values[flag]?.includes(':'))
      throw new UsageError(
        `--${flag} must not contain ":" (it separates ID:TENANT in --principal, --owner and TAKEOUT_API_TOKENS)${flag === 'id' ? '; give the tenant with --tenant' : ''}`,
      );
  }
  const token = `tk_${randomBytes(32).toString('base64url')}`;
  const entry = {
    sha256: tokenDigest(token).toString('hex'),
    id: values.id,
    ...(values.tenant ? { tenant: values.tenant } : {}),
  };
  io.stdout.write(`token: ${token}\nconfig entry: ${JSON.stringify(entry)}\n`);
  return 0;
}
