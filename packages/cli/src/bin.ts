#!/usr/bin/env node
/** The `tokenward` executable: the command line of ./cli.ts on this process's streams. */
import { run } from './cli.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

void run(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stdin: readStdin,
  now: Date.now,
}).then((code) => {
  process.exitCode = code;
});
