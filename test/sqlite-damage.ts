/**
 * Damage done to a SQLite store file the way it happens on disk (a faulty disk, a stray write, a bad copy): random
 * bytes over pages of the database file or over frames of its WAL. Layouts: https://www.sqlite.org/fileformat.html
 * (pages numbered from 1) and https://www.sqlite.org/fileformat.html#the_write_ahead_log (a 32-byte header, then
 * frames of a 24-byte header and one page).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';

const PAGE = 4096;
const WAL_HEADER = 32;
const FRAME = 24 + PAGE;

function overwrite(file: string, ranges: Array<[offset: number, length: number]>): void {
  const fd = openSync(file, 'r+');
  try {
    for (const [offset, length] of ranges) writeSync(fd, randomBytes(length), 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Random bytes over the given pages of the database file. */
export function overwritePages(path: string, pages: number[]): void {
  overwrite(path, pages.map((page) => [(page - 1) * PAGE, PAGE]));
}

/** Random bytes over WAL frames `from` (counted from 0) up to, not including, `to` (clamped to the WAL's length): headers and pages. */
export function overwriteWalFrames(path: string, from: number, to: number): number {
  const frames = Math.floor((statSync(`${path}-wal`).size - WAL_HEADER) / FRAME);
  const end = Math.min(to, frames);
  overwrite(`${path}-wal`, Array.from({ length: Math.max(0, end - from) }, (_, i) => [WAL_HEADER + (from + i) * FRAME, FRAME]));
  return Math.max(0, end - from);
}

/** Random bytes over every WAL frame present now except those holding page 1 (the file's header page). Returns how many. */
function overwriteWalFramesButHeaderPage(path: string): number {
  const wal = readFileSync(`${path}-wal`);
  const ranges: Array<[number, number]> = [];
  for (let offset = WAL_HEADER; offset + FRAME <= wal.length; offset += FRAME) {
    if (wal.readUInt32BE(offset) !== 1) ranges.push([offset, FRAME]);
  }
  overwrite(`${path}-wal`, ranges);
  return ranges.length;
}

/** Frames in the WAL now. */
export function walFrames(path: string): number {
  return Math.max(0, Math.floor((statSync(`${path}-wal`).size - WAL_HEADER) / FRAME));
}

/** The leaf pages of a table or index, in key order (SQLite's dbstat table, https://www.sqlite.org/dbstat.html). */
export function leafPages(path: string, name: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path`).all(name) as Array<{ pageno: number }>;
    return rows.map((r) => r.pageno);
  } finally {
    db.close();
  }
}

/**
 * What another process writing to the file does to a running store: its connection then reads pages from the file
 * again instead of from its own cache (SQLite drops a connection's cache when the WAL shows another's commit).
 */
export function touchFromAnotherConnection(path: string): void {
  const db = new Database(path);
  try {
    db.pragma(`user_version = ${db.pragma('user_version', { simple: true }) as number}`);
  } finally {
    db.close();
  }
}

/**
 * A reader that keeps one snapshot of the file open (a backup in progress, say). Meanwhile the store's checkpoints
 * cannot copy later WAL frames into the file, so the WAL keeps the latest version of every page written since.
 */
export function holdSnapshot(path: string): { release(): void } {
  const db = new Database(path);
  db.exec('BEGIN');
  db.prepare('SELECT count(*) FROM sqlite_schema').get();
  return {
    release() {
      db.exec('COMMIT');
      db.close();
    },
  };
}

/**
 * What another process does to a running store's WAL, in one go: takes the write lock, overwrites every frame but
 * those of the header page (so it can still write itself), and commits a write of its own, after which the store's
 * connection reads pages from the WAL again instead of from its cache. Returns how many frames it overwrote.
 */
export function overwriteWalFramesUnderLock(path: string): number {
  const db = new Database(path);
  try {
    db.exec('BEGIN IMMEDIATE');
    const frames = overwriteWalFramesButHeaderPage(path);
    db.pragma(`user_version = ${db.pragma('user_version', { simple: true }) as number}`);
    db.exec('COMMIT');
    return frames;
  } finally {
    db.close();
  }
}
