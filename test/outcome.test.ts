/**
 * The outcome decision every queue consumer shares (src/queue/outcome.ts), the runner around it
 * (src/queue/run-job.ts) and the typed, versioned job payloads (src/jobs/kinds.ts).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { jobRoute, type JobRoute } from '../src/core/jobs.js';
import type { Job, Pauses } from '../src/core/store.js';
import { genesysInboundJob } from '../src/jobs/genesys-inbound.js';
import { defineJobKind } from '../src/jobs/kinds.js';
import { silentLogger } from '../src/logger.js';
import { decideAfterRun, decideBeforeRun } from '../src/queue/outcome.js';
import { runJob } from '../src/queue/run-job.js';

const NOW = Date.UTC(2026, 0, 1);
const backoff = { baseMs: 1000, maxMs: 60_000, random: () => 0.5 };
const state = { attempts: 0, maxAttempts: 5, now: NOW };

describe('decideAfterRun', () => {
  it('completes a job that succeeded', () => {
    expect(decideAfterRun({ ...state, error: undefined, backoff })).toEqual({ action: 'complete' });
  });

  it('dead-letters a permanent refusal at once, telling the far side', () => {
    const error = new PermanentError('window closed');
    expect(decideAfterRun({ ...state, error, backoff })).toEqual({ action: 'dead', error, notify: true });
  });

  it('retries a transient failure after the backoff, counting the attempt', () => {
    const error = new RetryableError('503');
    expect(decideAfterRun({ ...state, attempts: 2, error, backoff })).toEqual({
      action: 'retry',
      runAt: NOW + 2000,
      countAttempt: true,
      error,
      unexpected: false,
    });
  });

  it('never retries before the time the other side gave, and pauses its key until then', () => {
    const error = new RetryableError('429', { retryAfterMs: 30_000, pauseKey: 'genesys:client' });
    expect(decideAfterRun({ ...state, error, backoff })).toMatchObject({ action: 'retry', runAt: NOW + 30_000, pause: { key: 'genesys:client', until: NOW + 30_000 } });
  });

  it('dead-letters the run that reaches maxAttempts, still pausing the rate-limited key', () => {
    const error = new RetryableError('429', { retryAfterMs: 5000, pauseKey: 'k' });
    // The backoff after 4 failures (16 s × 0.5) is longer than the Retry-After: the pause takes the later time.
    expect(decideAfterRun({ ...state, attempts: 4, error, backoff })).toEqual({ action: 'dead', error, notify: true, pause: { key: 'k', until: NOW + 8000 } });
  });

  it('retries an unexpected error (a bug) like a transient one, saying it was unexpected', () => {
    expect(decideAfterRun({ ...state, error: new TypeError('x is undefined'), backoff })).toMatchObject({ action: 'retry', unexpected: true });
  });
});

describe('decideBeforeRun', () => {
  it('lets a job with attempts left and no pause run', () => {
    expect(decideBeforeRun({ ...state, pausedUntil: 0, pauseKeys: ['k'] })).toBe('run');
  });

  it('holds back a paused job until the pause ends without counting an attempt', () => {
    expect(decideBeforeRun({ ...state, pausedUntil: NOW + 9000, pauseKeys: ['instagram:1'] })).toMatchObject({
      action: 'retry',
      runAt: NOW + 9000,
      countAttempt: false,
    });
  });

  it('gives up on a job whose earlier runs ended without an outcome, before running it again', () => {
    const decision = decideBeforeRun({ ...state, attempts: 5, pausedUntil: 0, pauseKeys: [] });
    expect(decision).toMatchObject({ action: 'dead', notify: true });
    expect((decision as { error: Error }).error.message).toContain('gave up after 5 attempts');
  });
});

function job(kind: string, payload: unknown, attempts = 0): Job {
  return { id: '1', dedupeKey: 'd', conversationKey: 'c', kind, payload, attempts, createdAt: NOW };
}

const noPauses: Pauses = { pause: async () => undefined, pausedUntil: async () => 0 };
const echoKind = defineJobKind('test.echo', 2, z.object({ text: z.string() }));

function deps(routes: JobRoute[], clock = () => NOW, pauses = noPauses) {
  return { routes: new Map(routes.map((r) => [r.kind.kind, r])), pauses, clock, maxAttempts: 5, backoff, logger: silentLogger };
}

describe('runJob', () => {
  it('dead-letters a job of a kind no handler runs, without telling anyone', async () => {
    const decision = await runJob(job('unknown.kind', {}), deps([]));
    expect(decision).toMatchObject({ action: 'dead', notify: false });
    expect((decision as { error: Error }).error.message).toContain('no handler is registered for job kind "unknown.kind"');
  });

  it('dead-letters a payload that does not match its kind with a clear error, and never calls the handler', async () => {
    let ran = false;
    const route = jobRoute(genesysInboundJob, { run: async () => void (ran = true) });
    const decision = await runJob(job('genesys.inbound', { connectionId: 'c', event: { kind: 'message' } }), deps([route]));
    expect(ran).toBe(false);
    expect(decision).toMatchObject({ action: 'dead', notify: false });
    expect((decision as { error: Error }).error.message).toMatch(/payload of this genesys.inbound job is not one this version of dmbridge can run \(version 1 payload event\.\w+/);
  });

  it('refuses a payload written by a newer version, and reads one written before versions existed as version 1', () => {
    expect(echoKind.check({ v: 3, text: 'hi' })).toEqual({ ok: false, error: "payload version 3 is newer than this dmbridge's 2" });
    expect(echoKind.check({ text: 'hi' })).toEqual({ ok: true, payload: { text: 'hi' } });
    expect(echoKind.job({ text: 'hi' }, { dedupeKey: 'd', conversationKey: 'c' }).payload).toEqual({ v: 2, text: 'hi' });
  });

  it('counts a Retry-After from the end of the run, not from its start', async () => {
    let now = NOW;
    const route = jobRoute(echoKind, {
      async run() {
        now += 700; // the call took 700 ms before Genesys answered 429
        throw new RetryableError('429', { retryAfterMs: 2000, pauseKey: 'genesys:c' });
      },
    });
    const paused: Array<[string, number]> = [];
    const pauses: Pauses = { pause: async (key, until) => void paused.push([key, until]), pausedUntil: async () => 0 };
    const decision = await runJob(job('test.echo', { text: 'x' }), deps([route], () => now, pauses));
    expect(decision).toMatchObject({ action: 'retry', runAt: NOW + 700 + 2000 });
    expect(paused).toEqual([['genesys:c', NOW + 700 + 2000]]);
  });

  it("runs the handler's dead-letter hook with the typed payload before a job is given up", async () => {
    const told: string[] = [];
    const route = jobRoute(echoKind, {
      run: async () => {
        throw new PermanentError('refused');
      },
      onDeadLetter: async (payload, error) => void told.push(`${payload.text}: ${error.message}`),
    });
    expect(await runJob(job('test.echo', { v: 2, text: 'hello' }), deps([route]))).toMatchObject({ action: 'dead' });
    expect(told).toEqual(['hello: refused']);
  });
});
