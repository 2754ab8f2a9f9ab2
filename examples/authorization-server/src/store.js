/**
 * The authorization server's state on disk: one JSON file, replaced atomically on every change.
 *
 * Why a JSON file and not SQLite: `node:sqlite` needs Node 22 and we support Node 20;
 * better-sqlite3 is a native module whose prebuilt binary is downloaded at install time (or
 * compiled with a C++ toolchain), which breaks "runs from a fresh clone" on locked-down machines
 * and CI images. The state of an example server is small (keys, live refresh-token families, a
 * few minutes of revocations), so rewriting the whole file per change costs well under a
 * millisecond, and needs nothing but `node:fs`. A production server holding millions of refresh
 * tokens wants a database; the Store interface below is what it would replace.
 *
 * Durability: write a temporary file in the same directory, fsync it, rename it over the data
 * file (atomic on POSIX and on NTFS), then fsync the directory so the rename itself survives a
 * power cut. A restart, even after a crash mid-write, sees the old state or the new one, never a
 * mix. Writes are synchronous on purpose: a response is sent only once its change is on disk,
 * and no two requests can interleave their changes (Node runs one handler at a time).
 * One process per data file: two servers on one file would overwrite each other's changes.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const STATE_VERSION = 1;

export class JsonFileStore {
  /** @param {string} file */
  constructor(file) {
    this.file = file;
  }

  /**
   * The stored state, or undefined when there is none yet.
   * @returns {any}
   */
  load() {
    let text;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return undefined;
      throw error;
    }
    const state = JSON.parse(text);
    if (state?.version !== STATE_VERSION) throw new Error(`${this.file}: unknown state version ${state?.version}`);
    return state;
  }

  /** @param {unknown} state */
  save(state) {
    const dir = dirname(this.file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${basename(this.file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    // 0600: the file holds private signing keys and refresh-token hashes.
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw error;
    }
    closeSync(fd);
    try {
      renameSync(temp, this.file);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
    syncDirectory(dir);
  }
}

/** Makes a rename durable. Windows cannot open a directory; NTFS journals the rename itself. */
function syncDirectory(dir) {
  let fd;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Best effort, see above.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
