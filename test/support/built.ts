/**
 * Module-format tests load the packages from dist/, as a consumer would; they stop early with a
 * clear message when a package has not been built.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const PACKAGES_DIR = join(__dirname, '..', '..', 'packages');

export function assertBuilt(packages: string[]): void {
  for (const name of packages) {
    for (const format of ['cjs', 'esm']) {
      if (!existsSync(join(PACKAGES_DIR, name, 'dist', format, 'index.js'))) throw new Error(`packages/${name} is not built (${format}): run pnpm build first`);
    }
  }
}
