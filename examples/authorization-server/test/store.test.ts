import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonFileStore, STATE_VERSION } from '../src/store.js';
import { CLI, login, refresh, startServer } from './support';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tokenward-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the JSON file store', () => {
  test('a missing file is no state yet', () => {
    expect(new JsonFileStore(join(dir, 'state.json')).load()).toBeUndefined();
  });

  test('saves replace the whole file, leave no temporary file behind, and are readable only by the owner', () => {
    const file = join(dir, 'nested', 'state.json');
    const store = new JsonFileStore(file);
    store.save({ version: STATE_VERSION, n: 1 });
    store.save({ version: STATE_VERSION, n: 2 });
    expect(store.load()).toEqual({ version: STATE_VERSION, n: 2 });
    expect(readdirSync(join(dir, 'nested'))).toEqual(['state.json']);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('a file of another version is refused rather than misread', () => {
    const file = join(dir, 'state.json');
    writeFileSync(file, JSON.stringify({ version: 999 }));
    expect(() => new JsonFileStore(file).load()).toThrow(/version/);
  });
});

describe('housekeeping', () => {
  test('grants that ended are swept from the data file a day later', async () => {
    const harness = await startServer({ refreshTokenIdleTtl: 3600, refreshTokenAbsoluteTtl: 7200 });
    const tokens = await login(harness.server);
    const families = () => Object.keys(JSON.parse(readFileSync(harness.dataFile, 'utf8')).families).length;
    expect(families()).toBe(1);
    harness.advance(3600 + 24 * 3600);
    await login(harness.server); // any state change sweeps
    expect(families()).toBe(1);
    expect((await refresh(harness.server, CLI, tokens.refresh_token)).body.error).toBe('invalid_grant');
  });
});
