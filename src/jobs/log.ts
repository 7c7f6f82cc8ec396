/** Where workers, queues and the sweeper log (a pino logger fits). */
export interface JobLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
  /** A logger that adds `bindings` to every line (pino's `child`). */
  child?(bindings: Record<string, unknown>): JobLogger;
}

export const silentLogger: JobLogger = { info() {}, warn() {}, error() {} };

/** `log` with `bindings` on every line: how each line of a job carries its export id. */
export function withBindings(log: JobLogger, bindings: Record<string, unknown>): JobLogger {
  if (log.child) return log.child(bindings);
  return {
    info: (details, message) => log.info({ ...bindings, ...details }, message),
    warn: (details, message) => log.warn({ ...bindings, ...details }, message),
    error: (details, message) => log.error({ ...bindings, ...details }, message),
  };
}
