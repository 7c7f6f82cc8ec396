/** Where workers, queues and the sweeper log (a pino logger fits). */
export interface JobLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export const silentLogger: JobLogger = { info() {}, warn() {}, error() {} };
