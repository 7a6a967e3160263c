import { describe, expect, it } from 'vitest';
import { RefusalLog, type Ticker } from '../src/intake/refusal-log.js';
import { capturedLogger } from './helpers.js';

function setup() {
  const captured = capturedLogger('info');
  let now = Date.UTC(2026, 2, 2, 9, 0);
  let tick: (() => void) | undefined;
  let stopped = false;
  const ticker: Ticker = (everyMs, fn) => {
    expect(everyMs).toBe(60_000);
    tick = fn;
    return { stop: () => (stopped = true) };
  };
  const log = new RefusalLog({ logger: captured.logger, clock: () => now, ticker });
  const lines = () => captured.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    log,
    lines,
    /** One interval passes and its tick fires. */
    interval: () => {
      now += 60_000;
      tick!();
    },
    stopped: () => stopped,
  };
}

describe('RefusalLog', () => {
  it('logs the first refusal of a kind at once, then one line per interval with the count', () => {
    const { log, lines, interval } = setup();
    log.refused('genesys', 'signature_mismatch');
    expect(lines()).toEqual([expect.objectContaining({ level: 40, msg: 'webhook refused', route: 'genesys', reason: 'signature_mismatch' })]);
    for (let i = 0; i < 100_000; i++) log.refused('genesys', 'signature_mismatch');
    expect(lines()).toHaveLength(1);
    interval();
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatchObject({ level: 40, msg: 'webhook refusals', refused: { 'genesys:signature_mismatch': 100_000 }, total: 100_000, sinceMs: 60_000 });
  });

  it('counts every route and reason apart, in one line per interval', () => {
    const { log, lines, interval } = setup();
    for (let i = 0; i < 3; i++) {
      log.refused('instagram', 'signature_missing');
      log.refused('tiktok', 'signature_stale');
      log.refused('genesys', 'unknown_connection');
    }
    expect(lines().map((l) => `${l.route}:${l.reason}`)).toEqual(['instagram:signature_missing', 'tiktok:signature_stale', 'genesys:unknown_connection']);
    interval();
    expect(lines().at(-1)).toMatchObject({ refused: { 'instagram:signature_missing': 2, 'tiktok:signature_stale': 2, 'genesys:unknown_connection': 2 }, total: 6 });
  });

  it('writes nothing for a quiet interval, and logs a kind at once again after one', () => {
    const { log, lines, interval } = setup();
    log.refused('instagram', 'signature_mismatch');
    interval();
    interval();
    expect(lines()).toHaveLength(1);
    log.refused('instagram', 'signature_mismatch');
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatchObject({ msg: 'webhook refused', route: 'instagram' });
  });

  it('keeps a flood of kinds bounded by counting the excess under one', () => {
    const { log, lines, interval } = setup();
    for (let i = 0; i < 1000; i++) log.refused(`route-${i}`, 'signature_mismatch');
    expect(lines()).toHaveLength(65);
    for (let i = 0; i < 1000; i++) log.refused(`route-${i}`, 'signature_mismatch');
    interval();
    expect(lines()).toHaveLength(66);
    // The 65th kind opened "other" with a line of its own; 935 more came in the first round, 936 in the second.
    expect((lines().at(-1)!.refused as Record<string, number>).other).toBe(935 + 936);
  });

  it('writes what is left when closed, and stops its ticks', () => {
    const { log, lines, stopped } = setup();
    log.refused('tiktok', 'signature_mismatch');
    log.refused('tiktok', 'signature_mismatch');
    log.close();
    expect(stopped()).toBe(true);
    expect(lines().at(-1)).toMatchObject({ msg: 'webhook refusals', refused: { 'tiktok:signature_mismatch': 1 }, total: 1 });
  });
});
