#!/usr/bin/env node
import { isSignalExit } from './interrupt.js';
import { main } from './run.js';

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then((code) => {
  // Interrupted (Ctrl-C, SIGTERM, SIGHUP): what is left (a source reading an open stdin) must
  // not keep the process up.
  if (isSignalExit(code)) process.exit(code);
  process.exitCode = code;
});
