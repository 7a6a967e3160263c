/**
 * Issue 12's event-loop budget on the inbound path: the largest Instagram batch the body limit allows goes through
 * the whole intake (signature, JSON, parse, routing, the durable accept) without blocking the event loop for more
 * than 50 ms at a time, so timers and other requests keep their turn.
 */
import { describe, expect, it } from 'vitest';
import { fakeMid } from '../src/channels/instagram/sandbox/customer.js';
import { signMetaBody } from '../src/channels/instagram/verify.js';
import { composeBridge } from '../src/bridge.js';
import { configSchema } from '../src/config/index.js';
import { silentLogger } from '../src/logger.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { EVENT_LOOP_BUDGET_MS, eventLoopBlockingDuringMs } from './event-loop.js';
import { TEST, rawTestConfig } from './helpers.js';

/** A batch of entries of `perEntry` messages each (the last one fuller or emptier), filled up to `maxBytes`. */
function batchUpTo(maxBytes: number, perEntry: number): { raw: string; messages: number } {
  const now = Date.now();
  const entries: Array<{ id: string; time: number; messaging: unknown[] }> = [];
  let messages = 0;
  let size = 40;
  for (;;) {
    const item = {
      sender: { id: String(7_000_000 + (messages % 500)) },
      recipient: { id: TEST.accountId },
      timestamp: now,
      message: { mid: fakeMid(), text: `Hello, I have a question about order ${messages}: when does it ship?` },
    };
    const last = entries.at(-1);
    const opensEntry = !last || last.messaging.length >= perEntry;
    const added = JSON.stringify(item).length + 1 + (opensEntry ? 60 : 0);
    if (size + added > maxBytes) break;
    if (opensEntry) entries.push({ id: TEST.accountId, time: now, messaging: [item] });
    else last!.messaging.push(item);
    size += added;
    messages++;
  }
  let raw = JSON.stringify({ object: 'instagram', entry: entries });
  while (Buffer.byteLength(raw) > maxBytes) {
    const last = entries.at(-1)!;
    last.messaging.pop();
    if (last.messaging.length === 0) entries.pop();
    messages--;
    raw = JSON.stringify({ object: 'instagram', entry: entries });
  }
  return { raw, messages };
}

describe('the event-loop budget of one webhook', () => {
  it.each([
    ['one message per entry', 1],
    ['fifty messages per entry', 50],
    ['every message in one entry', 100_000],
  ])('holds for an Instagram batch as large as the body limit allows, %s', async (_name, perEntry) => {
    const config = configSchema.parse(rawTestConfig({ genesysUrl: 'http://127.0.0.1:9', store: 'sqlite::memory:' }));
    const store = openSqliteStore(':memory:');
    const { app, close } = composeBridge({ config, logger: silentLogger, store });
    const { raw, messages } = batchUpTo(config.server.bodyLimitBytes, perEntry);
    expect(messages).toBeGreaterThan(2000);
    const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(raw)), 'x-hub-signature-256': signMetaBody(raw, TEST.appSecret) };
    let status = 0;
    let fresh = true;
    const blocked = await eventLoopBlockingDuringMs(async () => {
      // Every attempt posts new message ids, so each one stores the whole batch (not duplicates).
      const body = fresh ? raw : raw.replace(/"mid":"aWdfZAG1/g, `"mid":"r${Math.random().toString(36).slice(2, 6)}`);
      fresh = false;
      status = (await app.request('/webhooks/instagram', { method: 'POST', headers: { ...headers, 'x-hub-signature-256': signMetaBody(body, TEST.appSecret), 'content-length': String(Buffer.byteLength(body)) }, body })).status;
    });
    expect(status).toBe(200);
    expect((await store.stats()).pending).toBeGreaterThanOrEqual(messages);
    expect(blocked).toBeLessThanOrEqual(EVENT_LOOP_BUDGET_MS);
    close();
    await store.close();
  }, 60_000);
});
