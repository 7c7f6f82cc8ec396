#!/usr/bin/env node
import { INTERRUPTED } from './interrupt.js';
import { main } from './run.js';

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then((code) => {
  // Interrupted: what is left (a source reading an open stdin) must not keep the process up.
  if (code === INTERRUPTED) process.exit(code);
  process.exitCode = code;
});
