/**
 * What an operator's tools see over HTTP: /readyz, the backlog gauges on /metrics, and the admin API over the dead
 * letters, on only with a token (which /metrics then needs too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/index.js';
import { startServer, type RunningServer } from '../src/entry/server.js';
import { checkReadiness } from '../src/http/admin.js';
import { silentLogger } from '../src/logger.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, postInstagram, rawTestConfig, tempDir } from './helpers.js';

const TOKEN = 'admin-token-for-tests-0123456789abcdef';
const dir = tempDir();
let genesys: FakeGenesys;
let open: RunningServer;
let guarded: RunningServer;

async function bridge(name: string, over: Record<string, unknown> = {}): Promise<RunningServer> {
  const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/${name}.db`, queue: { maxAttempts: 1 } });
  return startServer({ config: configSchema.parse({ ...raw, ...over }), logger: silentLogger });
}

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  open = await bridge('open');
  guarded = await bridge('guarded', { admin: { token: TOKEN } });
});
afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close()]);
  await genesys?.close();
  dir.cleanup();
});

const auth = { authorization: `Bearer ${TOKEN}` };

/** A DM that Genesys refuses for good (400): the bridge dead-letters it at once (maxAttempts 1). */
async function deadLetter(server: RunningServer): Promise<string> {
  genesys.failNext(1, { status: 400, body: { message: 'bad request', code: 'bad.request', status: 400 } });
  const mid = fakeMid();
  expect((await postInstagram(server.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'help' }, TEST.accountId))).status).toBe(200);
  expect(await eventually(async () => (await server.bridge.store.listDead(10)).some((j) => j.dedupeKey.includes(mid)), 8000)).toBe(true);
  return (await server.bridge.store.listDead(10)).find((j) => j.dedupeKey.includes(mid))!.id;
}

describe('without admin.token', () => {
  it('serves no admin API and keeps /metrics open', async () => {
    expect((await fetch(`${open.url}/admin/dead`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
  });

  it('is ready when the store takes writes and nothing waits', async () => {
    const res = await fetch(`${open.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });
});

describe('with admin.token', () => {
  it('refuses /metrics and /admin without the token, naming the code', async () => {
    for (const path of ['/metrics', '/admin/backlog', '/admin/dead']) {
      const res = await fetch(`${guarded.url}${path}`, { headers: { authorization: 'Bearer wrong' } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'DMB_ERR_ADMIN_UNAUTHORIZED' });
    }
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
  });

  it('shows the dead letters and the backlog, on /metrics too', async () => {
    const id = await deadLetter(guarded);
    const list = (await (await fetch(`${guarded.url}/admin/dead`, { headers: auth })).json()) as Array<{ id: string; payload?: unknown; lastError: string }>;
    const listed = list.find((j) => j.id === id)!;
    expect(listed.lastError).toContain('HTTP 400');
    expect(listed.payload).toBeUndefined();
    const one = (await (await fetch(`${guarded.url}/admin/dead/${id}`, { headers: auth })).json()) as { payload: { event: { text: string } } };
    expect(one.payload.event.text).toBe('help');
    expect(await (await fetch(`${guarded.url}/admin/backlog`, { headers: auth })).json()).toMatchObject({ dead: list.length });
    const metrics = await (await fetch(`${guarded.url}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(new RegExp(`^dmbridge_jobs_dead ${list.length}$`, 'm'));
    expect(metrics).toMatch(/^dmbridge_jobs_pending \d+$/m);
    expect(metrics).toMatch(/^dmbridge_oldest_pending_job_age_seconds [\d.]+$/m);
    expect(metrics).toMatch(/^dmbridge_paused_targets \d+$/m);
  });

  it('retries a dead job (it is delivered once Genesys takes it) and drops another', async () => {
    const retried = await deadLetter(guarded);
    const dropped = await deadLetter(guarded);
    const before = genesys.messages.length;
    expect((await fetch(`${guarded.url}/admin/dead/${retried}/retry`, { method: 'POST', headers: auth })).status).toBe(200);
    expect(await eventually(() => genesys.messages.length === before + 1, 8000)).toBe(true);
    expect((await fetch(`${guarded.url}/admin/dead/${dropped}`, { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await fetch(`${guarded.url}/admin/dead/${dropped}`, { headers: auth })).status).toBe(404);
  });
});

describe('checkReadiness', () => {
  const START = Date.UTC(2026, 0, 1);
  const STALL = 60_000;

  it('is not ready when work has been due longer than the stall limit and the worker settled nothing', async () => {
    let now = START;
    const store = openSqliteStore(':memory:', { clock: () => now });
    await store.enqueue([{ dedupeKey: 'a', conversationKey: 'c', kind: 'genesys.inbound', payload: {} }]);
    const lastProgressAt = () => START;
    expect(await checkReadiness({ store, clock: () => now, lastProgressAt, stallMs: STALL })).toEqual({ ready: true, problems: [] });
    now += STALL + 1;
    const stalled = await checkReadiness({ store, clock: () => now, lastProgressAt, stallMs: STALL });
    expect(stalled.ready).toBe(false);
    expect(stalled.problems[0]).toContain('the worker settled none for 60 s');
    // A worker that keeps settling jobs is making progress, however old the backlog.
    expect((await checkReadiness({ store, clock: () => now, lastProgressAt: () => now - 1000, stallMs: STALL })).ready).toBe(true);
    await store.close();
  });

  it('is not ready when the store cannot be written', async () => {
    const store = openSqliteStore(':memory:');
    await store.close();
    const report = await checkReadiness({ store, clock: Date.now, stallMs: STALL });
    expect(report).toEqual({ ready: false, problems: ['the store cannot be written: store is closed'] });
  });
});
