/** The error table (docs/errors.md, linked from the README) is what users read: it must follow the code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { reasons } from '@tokenward/core';

const readme = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');

describe('the error table of docs/errors.md', () => {
  test.each(Object.entries(reasons))('documents %s with its status and description', (reason, spec) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${reason}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`| ${spec.status} |`);
    expect(row).toContain(spec.description);
  });
});
