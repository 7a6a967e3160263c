/**
 * End-to-end relay benchmark: signed Instagram webhooks in, Open Messaging calls out to the fake Genesys.
 *
 *   npm run bench:relay [-- --messages 20000 --rate 200 --seconds 10 --backlog 100000 --genesys-latency 10]
 *                          [--only sqlite|postgres|backlog] [--drainer-flags="--max-old-space-size=64"]
 *
 * Per setup (SQLite; PostgreSQL with 1 and 2 instances), each bridge in its own process:
 *   throughput  N webhooks sent as fast as 64 keep-alive connections allow (round-robin over the instances);
 *               messages/s = N / (first send → last arrival at the fake Genesys)
 *   latency     an open loop at a fixed rate; webhook-sent → Genesys-received per message (p50/p95/p99)
 * Then, SQLite only, a backlog: N queued with the worker held, then drained by a fresh process whose RSS is
 * sampled throughout (growth = peak − RSS when draining started, and peak − RSS once a tenth was drained).
 * Both clocks are Date.now() on the same machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { signMetaBody } from '../src/channels/instagram/verify.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST } from '../test/helpers.js';
import { rssOf, startServerProcess, stop, type ServerProcess } from './processes.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    backlog: { type: 'string', default: '100000' },
    'genesys-latency': { type: 'string', default: '10' },
    only: { type: 'string' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    /** Node/V8 flags for the backlog's draining bridge, e.g. "--max-old-space-size=64". */
    'drainer-flags': { type: 'string', default: '' },
  },
});

const WARM_UP_MESSAGES = 5000;

interface Signed {
  mid: string;
  body: string;
  signature: string;
}

function signedBatch(count: number): Signed[] {
  return Array.from({ length: count }, (_, i) => {
    const mid = fakeMid();
    const body = JSON.stringify(instagramDmWebhook({ mid, timestamp: Date.now(), text: `relay ${i}`, from: String(6_000_000 + (i % 1000)) }, TEST.accountId));
    return { mid, body, signature: signMetaBody(body, TEST.appSecret) };
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(base: string, m: Signed): Promise<void> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: '/webhooks/instagram', method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(m.body), 'x-hub-signature-256': m.signature } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(m.body);
  });
}

async function getJson<T>(url: string): Promise<T> {
  return (await fetch(url)).json() as Promise<T>;
}

async function waitForCount(genesysUrl: string, count: number, timeoutMs: number, onTick?: (messages: number) => void): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { messages } = await getJson<{ messages: number }>(`${genesysUrl}/sandbox/count`);
    onTick?.(messages);
    if (messages >= count) return Date.now();
    if (Date.now() > deadline) throw new Error(`only ${messages} of ${count} messages reached Genesys`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function throughput(instances: ServerProcess[], genesysUrl: string, n: number) {
  const batch = signedBatch(n);
  const base = (await getJson<{ messages: number }>(`${genesysUrl}/sandbox/count`)).messages;
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 64 }, async (_, worker) => {
      while (next < batch.length) {
        const i = next++;
        await post(instances[(i + worker) % instances.length]!.url, batch[i]!);
      }
    }),
  );
  const acked = Date.now();
  const done = await waitForCount(genesysUrl, base + n, 600_000);
  return { perSecond: n / ((done - started) / 1000), ackPerSecond: n / ((acked - started) / 1000) };
}

async function latency(instances: ServerProcess[], genesysUrl: string, rate: number, seconds: number) {
  const batch = signedBatch(rate * seconds);
  const base = (await getJson<{ messages: number }>(`${genesysUrl}/sandbox/count`)).messages;
  const sentAt = new Map<string, number>();
  const pending: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < batch.length; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sentAt.set(batch[i]!.mid, Date.now());
    pending.push(post(instances[i % instances.length]!.url, batch[i]!));
  }
  await Promise.all(pending);
  await waitForCount(genesysUrl, base + batch.length, 120_000);
  const arrivals = await getJson<Array<[string, number]>>(`${genesysUrl}/sandbox/arrivals`);
  const latencies: number[] = [];
  for (const [mid, at] of arrivals) {
    const sent = sentAt.get(mid);
    if (sent !== undefined) latencies.push(at - sent);
  }
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99) };
}

async function backlog(genesysUrl: string, dir: string, n: number) {
  const db = join(dir, 'backlog.db');
  const holder = await startServerProcess(['relay', '0', genesysUrl, `sqlite:${db}`, 'hold']);
  const batch = signedBatch(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < batch.length) await post(holder.url, batch[next++]!);
    }),
  );
  await stop(holder.child);
  const base = (await getJson<{ messages: number }>(`${genesysUrl}/sandbox/count`)).messages;
  const flags = values['drainer-flags'].split(/\s+/).filter(Boolean);
  const drainer = await startServerProcess(['relay', '0', genesysUrl, `sqlite:${db}`, 'deliver'], flags);
  const startRss = rssOf(drainer.child.pid!).nowMb;
  let peak = startRss;
  // RSS once a tenth is drained: by then V8's young generation has reached its full size, so growth from here
  // on is what the backlog's size costs (flat memory means ~0), growth from the start includes that warm-up.
  let warmRss: number | undefined;
  let peakAfterWarm = 0;
  const t0 = Date.now();
  const done = await waitForCount(genesysUrl, base + n, 1_200_000, (messages) => {
    const now = rssOf(drainer.child.pid!).nowMb;
    peak = Math.max(peak, now);
    if (warmRss === undefined && messages - base >= n / 10) warmRss = now;
    if (warmRss !== undefined) peakAfterWarm = Math.max(peakAfterWarm, now);
  });
  await stop(drainer.child);
  return { perSecond: n / ((done - t0) / 1000), startRss, peak, growth: peak - startRss, warmRss: warmRss ?? NaN, growthAfterWarm: peakAfterWarm - (warmRss ?? NaN) };
}

const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'dmbridge-relay-'));
  const genesys = await startServerProcess(['genesys', '0', values['genesys-latency']]);
  const schemas: string[] = [];
  const pgSchema = () => {
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  const setups = [
    { name: 'SQLite, 1 instance', stores: () => [[`sqlite:${join(dir, `relay-${Date.now()}.db`)}`]] },
    { name: 'PostgreSQL, 1 instance', stores: () => [[values.postgres, pgSchema()]] },
    {
      name: 'PostgreSQL, 2 instances',
      stores: () => {
        const schema = pgSchema();
        return [[values.postgres, schema], [values.postgres, schema]];
      },
    },
  ];
  const rows: string[] = [];
  try {
    for (const setup of setups) {
      if (values.only && !setup.name.toLowerCase().includes(values.only.toLowerCase())) continue;
      process.stderr.write(`measuring ${setup.name}…\n`);
      // Instances of one setup start one after the other: the first creates the schema.
      const instances: ServerProcess[] = [];
      for (const [store, schema] of setup.stores()) instances.push(await startServerProcess(['relay', '0', genesys.url, store!, 'deliver', ...(schema ? [schema] : [])]));
      try {
        await throughput(instances, genesys.url, WARM_UP_MESSAGES); // discarded: lets V8 optimise the hot paths first
        const t = await throughput(instances, genesys.url, Number(values.messages));
        const l = await latency(instances, genesys.url, Number(values.rate), Number(values.seconds));
        rows.push(`| ${setup.name} | ${f(t.ackPerSecond)} | ${f(t.perSecond)} | ${f(l.p50)} | ${f(l.p95)} | ${f(l.p99)} |`);
      } finally {
        await Promise.all(instances.map((i) => stop(i.child)));
      }
    }
    let drain = '';
    if (!values.only || values.only === 'backlog') {
      process.stderr.write(`backlog of ${values.backlog}…\n`);
      const b = await backlog(genesys.url, dir, Number(values.backlog));
      drain = `\nbacklog of ${values.backlog} queued jobs (SQLite): drained at ${f(b.perSecond)} messages/s; RSS ${f(b.startRss)} MB when draining started, peak ${f(b.peak)} MB, growth ${f(b.growth)} MB; RSS ${f(b.warmRss)} MB after the first tenth, growth from there ${f(b.growthAfterWarm)} MB`;
    }
    console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${values.messages} messages per throughput run, ` +
      `open loop at ${values.rate} msg/s for ${values.seconds} s, fake Genesys latency ${values['genesys-latency']} ms\n`);
    console.log('| setup | acks/s | relayed msg/s (webhook → Genesys) | p50 ms @ rate | p95 ms @ rate | p99 ms @ rate |');
    console.log('|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
    console.log(drain);
  } finally {
    agent.destroy();
    await stop(genesys.child);
    rmSync(dir, { recursive: true, force: true });
    if (schemas.length > 0) {
      const client = new pg.Client({ connectionString: values.postgres });
      await client.connect();
      for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }
}

void main();
