/** @tokenward/cli: the `tokenward` command (bin), and `run()` to call it from a program. */
export { EXIT, run } from './cli.js';
export type { Io } from './cli.js';
