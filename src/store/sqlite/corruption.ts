/**
 * A damaged SQLite file: how the engine recognises one, at start and while running, and the sentence the
 * operator reads. SQLite reports damage as SQLITE_CORRUPT (with its extended codes) or SQLITE_NOTADB
 * (https://www.sqlite.org/rescode.html#corrupt). No retry fixes those, unlike SQLITE_BUSY, SQLITE_FULL or an
 * SQLITE_IOERR, which may pass: those stay errors of the one call (503, the platform delivers again).
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { StoreCorruptError } from '../../core/errors.js';

export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

function remedy(path: string): string {
  return (
    `stop dmbridge, then restore ${path} from a backup, or move it aside together with its -wal and -shm files to start ` +
    'with an empty store (what it held but had not delivered stays in the moved file)'
  );
}

export function corruptAtStart(path: string, problem: string): StoreCorruptError {
  return new StoreCorruptError(`the SQLite store ${path} is corrupt (${problem}): dmbridge does not start on it; ${remedy(path)}`);
}

export function corruptWhileRunning(path: string, problem: string, cause: unknown): StoreCorruptError {
  return new StoreCorruptError(
    `the SQLite store ${path} became corrupt while running (${problem}): webhooks are answered 503 so that the platforms ` +
      `deliver them again, and nothing more is delivered; ${remedy(path)}`,
    { cause },
  );
}

/** `PRAGMA quick_check` (https://www.sqlite.org/pragma.html#pragma_quick_check): what is wrong, empty when nothing. */
export function quickCheck(db: Database.Database): string[] {
  try {
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
    // One row may hold several lines ("*** in database main ***\nPage 5: …"): the operator reads one line.
    return rows.map((r) => r.quick_check.replace(/\s+/g, ' ').trim()).filter((line) => line !== 'ok');
  } catch (err) {
    // A page too damaged to walk stops the check itself.
    if (isCorruption(err)) return [(err as Error).message];
    throw err;
  }
}

/**
 * The check before the store is used: refuses a damaged file with the sentence above. quick_check reads every
 * page, in b-tree order: on a file the OS has not cached that is random I/O (about 16 s per GB measured, against
 * 3.4 s per GB after one sequential read of the file: docs/benchmarks.md), so the file and its WAL are read
 * through once first. The file is not in use yet, so blocking here holds up nothing but the start.
 */
export function checkAtStart(db: Database.Database, path: string): void {
  if (path !== ':memory:' && path !== '') for (const file of [path, `${path}-wal`]) readThrough(file);
  const problems = quickCheck(db);
  if (problems.length > 0) throw corruptAtStart(path, problems.slice(0, 3).join('; '));
}

function readThrough(file: string): void {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    while (readSync(fd, chunk, 0, chunk.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}
