/**
 * What the SQLite start check costs (src/store/sqlite/corruption.ts): `openSqliteStore` on a store file of a given
 * size, which reads the file through once and then runs `PRAGMA quick_check`, against quick_check alone.
 *
 *   npm run bench:sqlite-start [-- --mb 1000]
 *
 * The file holds finished jobs of real size with their dedupe keys, as a busy store does (jobs are kept a day,
 * dedupe keys a week). "Cold" asks the OS to drop the file from its page cache first (`dd iflag=nocache`, GNU
 * coreutils; without it only the warm numbers are printed), as after a reboot or on a host short of memory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/store/sqlite/index.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '1000' } } });
const targetBytes = Number(values.mb) * 1e6;

const dir = mkdtempSync(join(tmpdir(), 'dmbridge-bench-start-'));
const path = join(dir, 'store.db');
try {
  await openSqliteStore(path).close();
  build(path, targetBytes);
  const gb = statSync(path).size / 1e9;
  const canDrop = dropFromCache(path);
  const rows: Array<[string, number]> = [];
  if (canDrop) {
    dropFromCache(path);
    rows.push(['quick_check alone, cold', await seconds(() => quickCheckAlone(path))]);
    dropFromCache(path);
    rows.push(['start check (read through, then quick_check), cold', await seconds(() => openSqliteStore(path).close())]);
  }
  rows.push(['start check, warm', await seconds(() => openSqliteStore(path).close())]);
  console.log(`SQLite start check on ${gb.toFixed(2)} GB (${dir}):`);
  for (const [what, s] of rows) console.log(`  ${what}: ${s.toFixed(2)} s = ${(s / gb).toFixed(2)} s/GB`);
  if (!canDrop) console.log('  (cold not measured: dd iflag=nocache is not available)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Finished genesys.inbound jobs with their dedupe keys, 100,000 per transaction, until the file has the size. */
function build(file: string, bytes: number): void {
  const db = new Database(file);
  db.pragma('synchronous = OFF');
  const key = `'instagram:17841400000000042:message:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwNDI' || i`;
  for (let start = 0; statSync(file).size + statSync(`${file}-wal`).size < bytes; start += 100_000) {
    const numbers = `WITH RECURSIVE n(i) AS (SELECT ${start} UNION ALL SELECT i + 1 FROM n WHERE i < ${start + 99_999})`;
    db.exec(`BEGIN;
      ${numbers} INSERT INTO dedupe (key, created_at) SELECT ${key}, 1700000000000 + i FROM n;
      ${numbers} INSERT INTO jobs (dedupe_key, conversation_key, kind, payload, state, head, run_at, created_at, finished_at)
        SELECT ${key}, 'acme-instagram:' || (i % 5000), 'genesys.inbound',
               '{"connectionId":"acme-instagram","event":{"channel":"instagram","messageId":"' || hex(randomblob(40)) ||
               '","text":"' || hex(randomblob(100)) || '","customerId":"' || (i % 5000) || '"}}',
               'done', 0, 1700000000000 + i, 1700000000000 + i, 1700000000000 + i FROM n;
      COMMIT;`);
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  db.close();
}

function quickCheckAlone(file: string): void {
  const db = new Database(file, { readonly: true });
  db.pragma('quick_check');
  db.close();
}

function dropFromCache(file: string): boolean {
  return spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
}

async function seconds(run: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}
