// Starts one bench server (server.mjs) in its own process, for run.mjs and instructions.mjs alike:
// the environment server.mjs reads is written here only.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * `node server.mjs <framework> <variant>`, resolved with its URLs once it prints READY.
 * `tokenJwk` and `dpopJwk` are the public keys the floor variant imports; `nodeArgs` go to node,
 * and `wrapper` runs node under another program (`['valgrind', '--tool=callgrind', ...]`).
 */
export function spawnServer(framework, variant, { issuer, jwksUri, audience, tokenJwk, dpopJwk, nodeArgs = [], wrapper = [], stderr = 'inherit' }) {
  return new Promise((resolve, reject) => {
    const [command, ...args] = [...wrapper, process.execPath, '--expose-gc', ...nodeArgs, join(here, 'server.mjs'), framework, variant];
    const child = spawn(command, args, {
      env: { ...process.env, ISSUER: issuer, JWKS_URI: jwksUri, AUDIENCE: audience, NODE_ENV: 'production', TOKEN_JWK: JSON.stringify(tokenJwk), DPOP_JWK: JSON.stringify(dpopJwk) },
      stdio: ['ignore', 'pipe', stderr],
    });
    child.on('error', reject);
    child.on('exit', (code) => code !== 0 && code !== null && reject(new Error(`${framework}/${variant} exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      const match = /READY (\d+) (\d+)/.exec(String(chunk));
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}`, memoryUrl: `http://127.0.0.1:${match[2]}` });
    });
  });
}
