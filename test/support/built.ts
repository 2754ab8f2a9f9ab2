/**
 * Module-format tests load the packages from dist/, as a consumer would: a program run with
 * `node -e` in a child process, as CommonJS or as ESM, from a package's folder so that it resolves
 * the packages by name. They stop early with a clear message when a package has not been built.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serveOneKey } from './jwks-server';
import { mint } from './tokens';

export const PACKAGES_DIR = join(__dirname, '..', '..', 'packages');

export function assertBuilt(packages: string[]): void {
  for (const name of packages) {
    for (const format of ['cjs', 'esm']) {
      if (!existsSync(join(PACKAGES_DIR, name, 'dist', format, 'index.js'))) throw new Error(`packages/${name} is not built (${format}): run pnpm build first`);
    }
  }
}

export type ModuleFormat = 'CommonJS' | 'ESM';

const execFileAsync = promisify(execFile);
const audience = 'https://api.example.com';

export interface BuiltPackages {
  /**
   * Runs `program` as `format` in a child Node process from packages/`pkg`, with ISSUER,
   * AUDIENCE and TOKEN (a valid token for them, signed by the served key) in its environment;
   * resolves to what it printed. A child that exits non-zero or runs over 15 s rejects.
   */
  run(pkg: string, format: ModuleFormat, program: string): Promise<string>;
}

/**
 * For a module-format test file: beforeAll checks that `packages` are built, and one ES256 key
 * is served for the file (serveOneKey) for the children to verify tokens against.
 */
export function builtPackages(packages: string[]): BuiltPackages {
  beforeAll(() => assertBuilt(packages));
  const jwks = serveOneKey('ES256', 'k1');
  return {
    async run(pkg, format, program) {
      const { issuer } = jwks.server;
      const env = { ...process.env, ISSUER: issuer, AUDIENCE: audience, TOKEN: mint(jwks.key, { issuer, audience }) };
      const args = [format === 'ESM' ? '--input-type=module' : '--input-type=commonjs', '-e', program];
      const { stdout } = await execFileAsync(process.execPath, args, { cwd: join(PACKAGES_DIR, pkg), env, timeout: 15_000 });
      return stdout;
    },
  };
}
