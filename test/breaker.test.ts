/**
 * The breaker per target, on the SQLite store with a manual clock: it opens after consecutive transient failures,
 * pauses the target for every job, lets one probe through at a time at growing intervals, and the first success
 * lets everything through at once; two instances sharing one store file agree on all of it.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { Breakers, type Admission, type BreakerSettings } from '../src/queue/breaker.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { tempDir } from './helpers.js';

const TARGET = 'genesys:oauth:test-client-id';
const SETTINGS: BreakerSettings = { failureThreshold: 3, firstProbeIntervalMs: 1000, maxProbeIntervalMs: 8000, probeLeaseMs: 30_000, recheckMs: 500 };

class ManualClock {
  now = Date.UTC(2026, 2, 2, 9, 0);
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

const stores: SqliteStore[] = [];
const dirs: Array<{ cleanup(): void }> = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  dirs.splice(0).forEach((d) => d.cleanup());
});

function setup(instances = 1) {
  const clock = new ManualClock();
  const dir = tempDir();
  dirs.push(dir);
  // One file, one connection per "instance", as separate processes would have.
  const breakers = Array.from({ length: instances }, (_, i) => {
    const store = openSqliteStore(join(dir.path, 'bridge.db'), { clock: clock.read });
    stores.push(store);
    return { store, breaker: new Breakers({ store, clock: clock.read, instanceId: `instance-${i}`, logger: silentLogger, settings: SETTINGS }) };
  });
  return { clock, breakers };
}

async function failTimes(breaker: Breakers, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const admission = await breaker.admit(TARGET);
    expect(admission.run).toBe(true);
    await breaker.failed(admission);
  }
}

/** How many of `jobs` admissions would call the target now. */
async function admitted(breaker: Breakers, jobs: number): Promise<Admission[]> {
  const admissions = await Promise.all(Array.from({ length: jobs }, () => breaker.admit(TARGET)));
  return admissions.filter((a) => a.run);
}

describe('Breakers', () => {
  it('stays closed below the threshold, and a success resets the count', async () => {
    const { breakers } = setup();
    const { breaker, store } = breakers[0]!;
    await failTimes(breaker, 2);
    await breaker.succeeded(await breaker.admit(TARGET));
    await failTimes(breaker, 2);
    expect(await admitted(breaker, 10)).toHaveLength(10);
    expect(await store.pausedUntil(TARGET)).toBe(0);
  });

  it('opens after consecutive transient failures: the target is paused for every job until the first probe', async () => {
    const { clock, breakers } = setup();
    const { breaker, store } = breakers[0]!;
    await failTimes(breaker, 3);
    expect(await store.pausedUntil(TARGET)).toBe(clock.now + 1000);
    expect(await admitted(breaker, 200)).toHaveLength(0);
    expect(await breaker.admit(TARGET)).toEqual({ run: false, target: TARGET, until: clock.now + 1000 });
    expect(await store.pausedUntil('tiktok:account:other')).toBe(0);
  });

  it('lets exactly one probe through at a time, however large the backlog', async () => {
    const { clock, breakers } = setup();
    const { breaker } = breakers[0]!;
    await failTimes(breaker, 3);
    clock.advance(1000);
    const through = await admitted(breaker, 5000);
    expect(through).toHaveLength(1);
    expect(through[0]).toMatchObject({ run: true, probe: {} });
    expect(await breaker.admit(TARGET)).toEqual({ run: false, target: TARGET, until: clock.now + 500 });
  });

  it('pauses for twice as long after each failed probe, up to the cap', async () => {
    const { clock, breakers } = setup();
    const { breaker, store } = breakers[0]!;
    await failTimes(breaker, 3);
    const intervals: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.now = await store.pausedUntil(TARGET);
      const [probe] = await admitted(breaker, 50);
      await breaker.failed(probe!);
      intervals.push((await store.pausedUntil(TARGET)) - clock.now);
    }
    expect(intervals).toEqual([2000, 4000, 8000, 8000, 8000]);
  });

  it('lets everything through at once after the first successful probe', async () => {
    const { clock, breakers } = setup();
    const { breaker, store } = breakers[0]!;
    await failTimes(breaker, 3);
    clock.advance(1000);
    const [probe] = await admitted(breaker, 100);
    await breaker.succeeded(probe!);
    expect(await admitted(breaker, 5000)).toHaveLength(5000);
    expect(await store.pausedUntil(TARGET)).toBe(0);
  });

  it('gives the probe to another job when the one probing never reports (its worker died)', async () => {
    const { clock, breakers } = setup();
    const { breaker } = breakers[0]!;
    await failTimes(breaker, 3);
    clock.advance(1000);
    expect(await admitted(breaker, 10)).toHaveLength(1);
    clock.advance(29_999);
    expect(await admitted(breaker, 10)).toHaveLength(0);
    clock.advance(2);
    expect(await admitted(breaker, 10)).toHaveLength(1);
  });

  it('is shared by instances on one store: one opens it for all, one probes for all, one success closes it for all', async () => {
    const { clock, breakers } = setup(2);
    const [first, second] = breakers as [(typeof breakers)[0], (typeof breakers)[0]];
    await failTimes(first.breaker, 3);
    expect(await admitted(second.breaker, 100)).toHaveLength(0);
    expect(await second.store.pausedUntil(TARGET)).toBe(clock.now + 1000);

    clock.advance(1000);
    const [a, b] = await Promise.all([admitted(first.breaker, 100), admitted(second.breaker, 100)]);
    expect(a.length + b.length).toBe(1);
    const [probe, prober] = a.length === 1 ? [a[0]!, first.breaker] : [b[0]!, second.breaker];
    await prober.succeeded(probe);
    expect(await admitted(first.breaker, 100)).toHaveLength(100);
    expect(await admitted(second.breaker, 100)).toHaveLength(100);
  });

  it('keeps the interval another instance set when a second one also reaches the threshold', async () => {
    const { clock, breakers } = setup(2);
    const [first, second] = breakers as [(typeof breakers)[0], (typeof breakers)[0]];
    await failTimes(second.breaker, 2); // admitted while closed, failing after the other instance opened it
    await failTimes(first.breaker, 3);
    clock.advance(1000);
    const [probe] = await admitted(first.breaker, 1);
    await first.breaker.failed(probe!);
    const pausedUntil = await first.store.pausedUntil(TARGET);
    await second.breaker.failed({ run: true, target: TARGET });
    expect(await first.store.pausedUntil(TARGET)).toBe(pausedUntil);
    expect(pausedUntil - clock.now).toBe(2000);
  });
});
