/**
 * Reliability 7: the SQLite file of a bridge (the built CLI) is damaged mid-burst: while a reader holds a snapshot
 * (so the WAL keeps every page written since), another process takes the write lock, writes random bytes over the
 * WAL's frames (all but the header page's) and commits, so that the bridge reads pages from the WAL again instead
 * of from its cache. From the first statement that meets the damage the bridge
 * acknowledges nothing more: every webhook is answered 503 (the platform keeps it and delivers it again), /readyz
 * fails, /healthz still answers, and one error line says what happened and what to do. Stopped cleanly, it then
 * refuses to start on the file, with one sentence naming the file and the remedy, exit code 1.
 *
 * What no check can prevent is measured and reported: webhooks acknowledged between the damage and the first
 * statement that met it (they were written into the damaged file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, rawTestConfig, tempDir } from '../helpers.js';
import { holdSnapshot, overwriteWalFramesUnderLock } from '../sqlite-damage.js';
import { GenesysProcess, conversations, freePort, post, sleep, type Message } from './harness.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'entry', 'cli.js');
const CUSTOMERS = 50;
const PER_CUSTOMER = 40;
const CORRUPT_MSG = 'SQLite store corrupt: webhooks are refused (503) and nothing is delivered until the file is restored or replaced';

const dir = tempDir('dmbridge-reliability-sqlite-');
const children = new Set<ChildProcess>();
let genesys: GenesysProcess;
beforeAll(async () => {
  genesys = await GenesysProcess.start(5);
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await genesys?.close();
  dir.cleanup();
});

/** `dmbridge serve` on the config file, its output (log level warn) to `log`; resolves with its exit code when it ends. */
function serve(configFile: string, log: string): { child: ChildProcess; exited: Promise<number | null> } {
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (children.delete(child), resolve(code))));
  return { child, exited };
}

interface Answer {
  sentAt: number;
  status: number | string;
}

describe('reliability: the SQLite file damaged under a burst', () => {
  it('stops acknowledging at the first statement that meets the damage, says so once, and refuses to start again', async () => {
    const path = join(dir.path, 'bridge.db');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const configFile = join(dir.path, 'bridge.json');
    const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${path}`, port });
    writeFileSync(configFile, JSON.stringify({ ...raw, log: { level: 'warn' }, genesys: { ...raw.genesys, timeoutMs: 10_000 } }));
    const log = join(dir.path, 'bridge.log');
    const bridge = serve(configFile, log);
    const ok = async (route: string) => (await fetch(`${url}${route}`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.status;
    expect(await eventually(async () => (await ok('/healthz')) === 200, 15_000, 50)).toBe(true);

    const snapshot = holdSnapshot(path);
    // The platform: each customer's messages in order, the next after a 200, a refused one again after 50 ms.
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const answers: Answer[] = [];
    let stop = false;
    const sending = Promise.all(
      convs.map(async (list: Message[]) => {
        for (const m of list) {
          while (!m.acked && !stop) {
            const sentAt = Date.now();
            const status = await post(url, m);
            answers.push({ sentAt, status });
            if (status === 200) m.acked = true;
            else await sleep(50);
          }
        }
      }),
    );
    const started = Date.now();
    expect(await eventually(() => answers.filter((a) => a.status === 200).length >= 300, 30_000, 5)).toBe(true);

    const damagedAt = Date.now();
    const frames = overwriteWalFramesUnderLock(path);
    snapshot.release();
    const logged = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } });
    expect(await eventually(() => logged().some((l) => l.msg === CORRUPT_MSG), 10_000, 20)).toBe(true);
    const noticedAt = Date.now();
    // Sent after the bridge said so, so they reached it after the store broke.
    const after = () => answers.filter((a) => a.sentAt > noticedAt);
    expect(await eventually(() => after().length >= 100, 20_000, 10)).toBe(true);

    const readyz = await fetch(`${url}/readyz`);
    const problems = ((await readyz.json()) as { problems?: string[] }).problems ?? [];
    const healthz = await ok('/healthz');
    stop = true;
    await sending;
    const ackedInWindow = answers.filter((a) => a.sentAt >= damagedAt && a.sentAt <= noticedAt && a.status === 200).length;
    const ackedBefore = answers.filter((a) => a.sentAt < damagedAt && a.status === 200).length;
    console.log(
      `reliability 7 (SQLite WAL frames overwritten mid-burst, ${frames} frames): ${ackedBefore} acked before the damage, ` +
        `${ackedInWindow} acked between the damage and the bridge noticing it (${noticedAt - damagedAt} ms later, at most), ` +
        `${after().length} webhooks sent after: ${JSON.stringify(countBy(after().map((a) => a.status)))}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    expect(after().every((a) => a.status === 503)).toBe(true);
    expect(readyz.status).toBe(503);
    expect(problems.join(' ')).toContain(`the SQLite store ${path} became corrupt while running`);
    expect(healthz).toBe(200);
    const errors = logged().filter((l) => l.level >= 50);
    expect(errors.map((l) => l.msg)).toEqual([CORRUPT_MSG]);
    expect(errors[0]!.err!.message).toContain(`restore ${path} from a backup`);

    bridge.child.kill('SIGTERM');
    expect(await bridge.exited).toBe(0);
    const again = serve(configFile, join(dir.path, 'restart.log'));
    expect(await again.exited).toBe(1);
    const restart = readFileSync(join(dir.path, 'restart.log'), 'utf8').trimEnd().split('\n');
    expect(restart).toHaveLength(1);
    expect(restart[0]).toMatch(new RegExp(`^dmbridge: the SQLite store ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt \\(`));
    expect(restart[0]).toContain('move it aside together with its -wal and -shm files');
  }, 120_000);
});

function countBy(values: Array<number | string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
