/**
 * Ingest benchmark: signed single-message Instagram webhooks over keep-alive loopback connections.
 *
 *   npm run bench:ingest [-- --seconds 10 --connections 64 --rate 1000]
 *
 * In one run, each server in its own process (bench/servers.ts):
 *   empty     the same server stack with an empty route (the ceiling)
 *   dmbridge  the real bridge: verify, parse, durable group-committed store, 200; the worker delivers meanwhile
 *   dmbridge (worker held)  the same with its worker not started: the ingest path alone
 *   dmbridge on PostgreSQL (1 and 2 instances)  the same on the PostgreSQL store (127.0.0.1:5432, database test)
 *   forward   the naive design: post to the fake Genesys (150 ms latency) before answering
 * For each: closed-loop throughput (acks/s, p50/p99) with N connections, then an open-loop run at a fixed
 * rate (p50/p99 ack latency), and the server's peak RSS. Prints a Markdown table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { signMetaBody } from '../src/channels/instagram/verify.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST } from '../test/helpers.js';
import { cpuMsOf, rssOf, startServerProcess, stop, type ServerProcess } from './processes.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    rate: { type: 'string', default: '1000' },
    'genesys-latency': { type: 'string', default: '150' },
    only: { type: 'string' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const RATE = Number(values.rate);
const WARM_UP_SECONDS = 3;
/** How long a server may take to exit after SIGTERM before it is killed. */
const KILL_AFTER_MS = 5000;

interface SignedRequest {
  body: string;
  length: number;
  signature: string;
}

/**
 * Signed single-message webhooks, each with a unique mid, from one of 1,000 customers. Made before the clock
 * starts so the load generator's own CPU use (it shares the 2 cores) stays small.
 */
function signedRequests(count: number): SignedRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const dm = { mid: fakeMid(), timestamp: 1_772_443_000_000 + i, text: `benchmark message ${i}`, from: String(7_000_000 + (i % 1000)) };
    const body = JSON.stringify(instagramDmWebhook(dm, TEST.accountId));
    return { body, length: Buffer.byteLength(body), signature: signMetaBody(body, TEST.appSecret) };
  });
}

let pool: SignedRequest[] = [];
let next = 0;
/** The next unused request (wrapping around only if a run outlasts the pool: a repeat is a duplicate delivery). */
function nextRequest(): SignedRequest {
  return pool[next++ % pool.length]!;
}

function post(agent: http.Agent, url: URL): Promise<number> {
  const { body, length, signature } = nextRequest();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: '/webhooks/instagram', method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': length, 'x-hub-signature-256': signature } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

interface LoadResult {
  acks: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** N connections, each sending its next request as soon as the previous one is answered. */
async function closedLoop(bases: string[], seconds: number, connections: number): Promise<LoadResult> {
  const urls = bases.map((b) => new URL(b));
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      const url = urls[c % urls.length]!;
      while (performance.now() < deadline) {
        try {
          latencies.push(await post(agent, url));
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { acks: latencies.length, errors, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** A fixed arrival rate, whatever the answers' latency (open loop: no coordinated omission). */
async function openLoop(bases: string[], seconds: number, rate: number): Promise<LoadResult> {
  const urls = bases.map((b) => new URL(b));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const total = Math.round(seconds * rate);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(agent, urls[i % urls.length]!).then((ms) => void latencies.push(ms), () => void errors++));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { acks: latencies.length, errors, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Measures one setup: one server process, or several sharing the load round-robin (CPU summed, RSS the largest). */
async function measure(name: string, argsList: string[][]) {
  pool = signedRequests((SECONDS + WARM_UP_SECONDS) * 15_000 + SECONDS * RATE);
  next = 0;
  const servers: ServerProcess[] = [];
  try {
    // One after the other: the first instance of a PostgreSQL setup creates the schema.
    for (const args of argsList) servers.push(await startServerProcess(args));
    const urls = servers.map((s) => s.url);
    const cpu = () => servers.reduce((sum, s) => sum + cpuMsOf(s.child.pid!), 0);
    // Warm-up at full load: until V8 has optimised the hot paths, a short run measures the compiler, and more so
    // for two instances sharing the load (each needs as many requests to warm up as one alone).
    await closedLoop(urls, WARM_UP_SECONDS, CONNECTIONS);
    const cpuBefore = cpu();
    const max = await closedLoop(urls, SECONDS, CONNECTIONS);
    const cpuUsPerAck = ((cpu() - cpuBefore) * 1000) / max.acks;
    const paced = await openLoop(urls, SECONDS, RATE);
    const peakMb = Math.max(...servers.map((s) => rssOf(s.child.pid!).peakMb));
    return { name, max, paced, cpuUsPerAck, rss: { peakMb } };
  } finally {
    await Promise.all(servers.map((s) => stop(s.child, KILL_AFTER_MS)));
  }
}

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'dmbridge-bench-'));
  const genesys = await startServerProcess(['genesys', '0', values['genesys-latency']]);
  try {
    const schema = () => `bench_${randomBytes(4).toString('hex')}`;
    const pgSchema = schema();
    const pgShared = schema();
    const runs: Array<[string, string[][]]> = [
      ['empty', [['empty', '0']]],
      ['dmbridge', [['dmbridge', '0', genesys.url, join(dir, 'bench.db'), 'deliver']]],
      ['dmbridge (worker held)', [['dmbridge', '0', genesys.url, join(dir, 'bench-held.db'), 'hold']]],
      ['dmbridge on PostgreSQL', [['relay', '0', genesys.url, values.postgres, 'deliver', pgSchema]]],
      ['dmbridge on PostgreSQL, 2 instances', [1, 2].map(() => ['relay', '0', genesys.url, values.postgres, 'deliver', pgShared])],
      ['forward-before-ack', [['forward', '0', genesys.url]]],
    ];
    const results = [];
    for (const [name, argsList] of runs) {
      if (values.only && values.only !== name) continue;
      process.stderr.write(`measuring ${name}…\n`);
      results.push(await measure(name, argsList));
    }
    await dropSchemas(values.postgres, [pgSchema, pgShared]);
    const ceiling = results.find((r) => r.name === 'empty')?.max.perSecond;
    console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${SECONDS} s per phase, ` +
      `${CONNECTIONS} keep-alive connections closed-loop, open loop at ${RATE} req/s, fake Genesys latency ${values['genesys-latency']} ms\n`);
    console.log('| server | acks/s | × empty | p50 ms | p99 ms | errors | server CPU µs/ack | p50 @ rate | p99 @ rate | errors @ rate | peak RSS MB |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      console.log(
        `| ${r.name} | ${f(r.max.perSecond, 0)} | ${ceiling ? f(r.max.perSecond / ceiling, 2) : '–'} | ${f(r.max.p50)} | ${f(r.max.p99)} | ${r.max.errors} | ${f(r.cpuUsPerAck, 0)} | ` +
          `${f(r.paced.p50)} | ${f(r.paced.p99)} | ${r.paced.errors} | ${f(r.rss.peakMb, 0)} |`,
      );
    }
  } finally {
    await stop(genesys.child, KILL_AFTER_MS);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The benchmark's schemas go when it ends. */
async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

void main();
