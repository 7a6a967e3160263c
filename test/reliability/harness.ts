/**
 * Shared plumbing for the reliability scenarios: real bridge processes (the built CLI, as in crash.test.ts) on
 * one fresh PostgreSQL schema, the fake Genesys in a process of its own, customers that send in order, and the
 * arithmetic every scenario reports (sent / delivered / duplicated / lost / out of order).
 *
 * Why the fake Genesys runs in its own process: in this one it shares an event loop with the sender, which at
 * the peak of the 10,000-message burst keeps hundreds of webhook POSTs in flight; requests from the bridges
 * then waited up to 10 s to be read, timed out in the bridge although the fake accepted them, and were sent
 * again: duplicates caused by the test, not the bridge. On its own it answers like a remote service, and the
 * arrival times it records (the Retry-After scenario) are not skewed by the sender's work.
 *
 * Every child process is registered the moment it is spawned; `close()` (called from afterAll) SIGKILLs what is
 * left, so a failing test never leaves processes behind (the fake also exits when this process goes away).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { signMetaBody } from '../../src/channels/instagram/verify.js';
import type { Config } from '../../src/config/index.js';
import type { FakeFailure, InboundRequest } from '../../src/sandbox/fake-genesys/index.js';
import { fakeMid, instagramDmWebhook } from '../../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, rawTestConfig, tempDir } from '../helpers.js';

export const PG_URL = process.env.DMBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIST = join(import.meta.dirname, '..', '..', 'dist', 'src');
const CLI = join(DIST, 'entry', 'cli.js');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the fake Genesys process runs: the built fake, driven over the IPC channel. */
const GENESYS_PROCESS = `
const { pathToFileURL } = await import('node:url');
const { startFakeGenesys } = await import(pathToFileURL(process.env.FAKE_GENESYS_MODULE).href);
const fake = await startFakeGenesys(JSON.parse(process.env.FAKE_GENESYS_OPTIONS));
process.on('disconnect', () => process.exit(0));
process.on('message', ({ id, op, args }) => {
  let result = null;
  if (op === 'outage') result = fake.outage(...args);
  else if (op === 'failNext') fake.failNext(...args);
  else if (op === 'setLatency') fake.setLatency(...args);
  else if (op === 'read') {
    const [messagesFrom, requestsFrom] = args;
    result = {
      messages: fake.messages.slice(messagesFrom).map((m) => [m.body.channel.messageId, m.at]),
      requests: fake.inboundRequests.slice(requestsFrom),
    };
  }
  process.send({ id, result });
});
process.send({ url: fake.url });
`;

/** A Genesys message as the scenarios see it: its channel.messageId and arrival time (epoch ms). */
export interface Arrival {
  mid: string;
  at: number;
}

/** The fake Genesys (src/sandbox/fake-genesys/) in its own process; `read()` brings `messages` and `requests` up to date. */
export class GenesysProcess {
  readonly messages: Arrival[] = [];
  /** Every request to its inbound endpoints, in the order they were answered. */
  readonly requests: InboundRequest[] = [];
  private nextId = 0;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (msg: { id?: number; result?: unknown }) => {
      if (msg.id === undefined) return;
      this.pending.get(msg.id)?.(msg.result);
      this.pending.delete(msg.id);
    });
  }

  static async start(latencyMs: number): Promise<GenesysProcess> {
    const options = {
      clientId: TEST.genesysClientId,
      clientSecret: TEST.genesysClientSecret,
      integrationIds: [TEST.integrationId],
      latencyMs,
    };
    const child = spawn(process.execPath, ['--input-type=module', '-e', GENESYS_PROCESS], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, FAKE_GENESYS_MODULE: join(DIST, 'sandbox', 'fake-genesys', 'index.js'), FAKE_GENESYS_OPTIONS: JSON.stringify(options) },
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (msg: { url: string }) => resolve(msg.url));
      child.once('exit', (code) => reject(new Error(`the fake Genesys exited (${code}); is dist/ built?`)));
    });
    return new GenesysProcess(child, url);
  }

  private call(op: string, args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.child.send({ id, op, args }, (err) => err && reject(err));
    });
  }

  /** See FakeGenesys.outage; resolves with the outage's window as the fake's clock saw it. */
  async outage(forMs: number, failure: FakeFailure | FakeFailure[]): Promise<{ from: number; until: number }> {
    return (await this.call('outage', [forMs, failure])) as { from: number; until: number };
  }

  async failNext(n: number, failure: FakeFailure): Promise<void> {
    await this.call('failNext', [n, failure]);
  }

  async setLatency(ms: number): Promise<void> {
    await this.call('setLatency', [ms]);
  }

  /** Fetches what arrived since the last read. */
  async read(): Promise<this> {
    const { messages, requests } = (await this.call('read', [this.messages.length, this.requests.length])) as {
      messages: Array<[string, number]>;
      requests: InboundRequest[];
    };
    for (const [mid, at] of messages) this.messages.push({ mid, at });
    this.requests.push(...requests);
    return this;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await Promise.race([exited, sleep(5000)]);
  }
}

export interface BridgeProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  url: string;
  /** The last 8 KB the process wrote (warnings and errors: the bridges run at log level warn). */
  output(): string;
  alive(): boolean;
}

export interface BridgeSettings {
  queue?: Partial<Config['queue']>;
  /** Connections per instance; 3 instances × 6 stays far below max_connections (100) with other suites running. */
  poolSize?: number;
  /**
   * The bridges' timeout for Genesys calls. 10 s (the production default) unless said, not the 2 s of the unit
   * tests: two cores are shared by three bridges, PostgreSQL, the fake and the sender (and whatever else runs on
   * the machine), and a message the fake accepted but answered after the timeout would be sent again: a
   * duplicate that says nothing about the bridge.
   */
  genesysTimeoutMs?: number;
}

export class Cluster {
  readonly schema = `dmb_rel_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  readonly admin = new pg.Pool({ connectionString: PG_URL, max: 2, connectionTimeoutMillis: 5000 });
  readonly bridges: BridgeProcess[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly dir = tempDir('dmbridge-reliability-');

  private constructor(readonly genesys: GenesysProcess) {
    this.admin.on('error', () => undefined);
  }

  static async create(opts: { genesysLatencyMs?: number } = {}): Promise<Cluster> {
    const cluster = new Cluster(await GenesysProcess.start(opts.genesysLatencyMs ?? 5));
    try {
      await cluster.admin.query('SELECT 1'); // fails, never skips, without PostgreSQL
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Starts `n` bridge processes on this cluster's schema, in parallel (the store's migration lock sorts them out). */
  async start(n: number, settings: BridgeSettings = {}): Promise<BridgeProcess[]> {
    const started = await Promise.all(Array.from({ length: n }, (_, i) => this.startOne(`b${this.bridges.length + i + 1}`, settings)));
    this.bridges.push(...started);
    return started;
  }

  private async startOne(name: string, settings: BridgeSettings): Promise<BridgeProcess> {
    // The bridges run at log level warn, which hides the "dmbridge listening" line: the port is chosen here
    // instead, and the process is ready once /healthz answers. A port taken in between fails the start: retry.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = rawTestConfig({ genesysUrl: this.genesys.url, store: PG_URL, port, ...(settings.queue ? { queue: settings.queue } : {}) });
      const raw = {
        ...config,
        log: { level: 'warn' },
        genesys: { ...config.genesys, timeoutMs: settings.genesysTimeoutMs ?? 10_000 },
        postgres: { schema: this.schema, poolSize: settings.poolSize ?? 6 },
      };
      const file = join(this.dir.path, `${name}.json`);
      writeFileSync(file, JSON.stringify(raw));
      // Logs go to a file, not a pipe to this process: on Linux a process writes to a pipe synchronously, so a
      // bridge logging while this (busy) process is slow to read would block, stalling its jobs.
      const logFile = join(this.dir.path, `${name}-${attempt}.log`);
      const fd = openSync(logFile, 'w');
      const child = spawn(process.execPath, [CLI, 'serve', '--config', file], { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      this.children.add(child);
      spawned.add(child);
      child.once('exit', () => spawned.delete(child));
      const output = () => {
        try {
          return readFileSync(logFile, 'utf8').slice(-8000);
        } catch {
          return '';
        }
      };
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const url = `http://127.0.0.1:${port}`;
      const bridge: BridgeProcess = {
        name,
        child,
        pid: child.pid!,
        url,
        output,
        alive: () => child.exitCode === null && child.signalCode === null,
      };
      const ready = await eventually(
        async () => {
          if (!bridge.alive()) return true;
          try {
            return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
          } catch {
            return false;
          }
        },
        15_000,
        50,
      );
      if (ready && bridge.alive()) return bridge;
      child.kill('SIGKILL');
      await exited;
      const tail = output();
      if (attempt >= 3 || !/EADDRINUSE/.test(tail)) throw new Error(`bridge ${name} did not start: ${tail}`);
    }
  }

  /** SIGKILL: no shutdown, leases and unflushed writes are simply gone. */
  async kill(bridge: BridgeProcess): Promise<void> {
    if (!bridge.alive()) return;
    const exited = new Promise((resolve) => bridge.child.once('exit', resolve));
    bridge.child.kill('SIGKILL');
    await exited;
  }

  /** Job counts by state in this cluster's schema. */
  async jobStates(): Promise<Record<'pending' | 'leased' | 'done' | 'dead', number>> {
    const { rows } = await this.admin.query<{ state: string; n: string }>(`SELECT state, count(*) AS n FROM "${this.schema}".jobs GROUP BY state`);
    const out = { pending: 0, leased: 0, done: 0, dead: 0 };
    for (const r of rows) out[r.state as keyof typeof out] = Number(r.n);
    return out;
  }

  /** Conversations whose next job waits to be leased. */
  async readyHeads(): Promise<number> {
    const { rows } = await this.admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${this.schema}".jobs WHERE head AND state = 'pending'`);
    return Number(rows[0]!.n);
  }

  /** Finished jobs that ran more than once: retaken after their lease expired, or retried after a failure. */
  async jobsRunAgain(): Promise<number> {
    const { rows } = await this.admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${this.schema}".jobs WHERE attempts > 0`);
    return Number(rows[0]!.n);
  }

  /** Waits until no job is pending or leased (late duplicates, e.g. retaken leases, have arrived by then). */
  async drained(timeoutMs: number): Promise<boolean> {
    return eventually(async () => {
      const s = await this.jobStates();
      return s.pending === 0 && s.leased === 0;
    }, timeoutMs, 100);
  }

  /**
   * Terminates every PostgreSQL backend of this cluster's live bridge processes. Other suites share the server
   * and the `dmbridge` application name, so the backends are picked by the client ports of these processes'
   * sockets (Linux /proc), and by application name. Returns how many were terminated.
   */
  async terminateBackends(): Promise<number> {
    const ports = clientPorts(this.bridges.filter((b) => b.alive()).map((b) => b.pid), 5432);
    if (ports.length === 0) return 0;
    const { rows } = await this.admin.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE application_name = 'dmbridge' AND client_port = ANY($1::int[]) AND pid <> pg_backend_pid()`,
      [ports],
    );
    return rows.filter((r) => r.ok).length;
  }

  /** Kills every process still running, stops the fake, drops the schema. Never throws. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(5000)]);
      }),
    );
    await this.genesys.close();
    await this.admin.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch(() => undefined);
    await this.admin.end().catch(() => undefined);
    this.dir.cleanup();
  }
}

/**
 * Every bridge process still running, killed when this process exits whatever the reason (afterAll does it in
 * the normal course; this covers a test run that ends without its hooks).
 */
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Local ports of the TCP connections the given processes hold to `remotePort` (from /proc). */
function clientPorts(pids: number[], remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // the process just exited
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // closed in the meantime
      }
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[] = [];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const local = parseInt(f[1]!.split(':')[1]!, 16);
      const remote = parseInt(f[2]!.split(':')[1]!, 16);
      if (remote === remotePort) ports.push(local);
    }
  }
  return ports;
}

// ---- customers and their messages ----

export interface Message {
  conversation: number;
  customer: string;
  index: number;
  mid: string;
  raw: string;
  signature: string;
  acked: boolean;
  /** POSTs made for it (more than one: re-sent after a failure). */
  posts: number;
}

/** `customers` conversations of `perCustomer` messages each, signed up front (the sender shares the CPU). */
export function conversations(customers: number, perCustomer: number, firstCustomer = 7_000_000): Message[][] {
  return Array.from({ length: customers }, (_, c) => {
    const customer = String(firstCustomer + c);
    return Array.from({ length: perCustomer }, (_, index) => {
      const mid = fakeMid();
      const raw = JSON.stringify(instagramDmWebhook({ mid, timestamp: 1_772_443_000_000 + index, text: `c${c} #${index}`, from: customer }, TEST.accountId));
      return { conversation: c, customer, index, mid, raw, signature: signMetaBody(raw, TEST.appSecret), acked: false, posts: 0 };
    });
  });
}

/** One signed POST, as Meta delivers it: its status, or why there was none (`timeout`, `ECONNREFUSED` …). */
export async function post(url: string, m: Message): Promise<number | string> {
  m.posts++;
  try {
    const res = await fetch(`${url}/webhooks/instagram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': m.signature },
      body: m.raw,
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    return e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name ?? 'error');
  }
}

export interface SendStats {
  posts: number;
  acked: number;
  /** Answers other than 200 by status, and failed posts by reason (`timeout`, `ECONNRESET` …). */
  refused: Record<string, number>;
}

/**
 * Plays the platform: every customer sends its messages in order, the next only after the previous one was
 * acknowledged (200). A message that was not acknowledged is delivered again, to the next instance, after
 * `retryDelayMs`, as Meta retries. Posts go round-robin over `targets()` (read at every post, so a test may
 * drop a killed instance). Gives up at `deadline` (epoch ms) so a scenario stays bounded.
 */
export async function sendAll(
  convs: Message[][],
  targets: () => string[],
  opts: { retryDelayMs?: number; deadline: number; stats?: SendStats; concurrency?: number },
): Promise<SendStats> {
  const stats = opts.stats ?? { posts: 0, acked: 0, refused: {} };
  let next = 0;
  const queue = [...convs];
  const lanes = Math.min(opts.concurrency ?? convs.length, convs.length);
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let list = queue.shift(); list; list = queue.shift()) await sendConversation(list);
    }),
  );
  return stats;

  async function sendConversation(list: Message[]): Promise<void> {
      for (const m of list) {
        while (!m.acked) {
          if (Date.now() > opts.deadline) return;
          const urls = targets();
          const status = await post(urls[next++ % urls.length]!, m);
          stats.posts++;
          if (status === 200) {
            m.acked = true;
            stats.acked++;
          } else {
            stats.refused[status] = (stats.refused[status] ?? 0) + 1;
            await sleep(opts.retryDelayMs ?? 50);
          }
        }
      }
  }
}

// ---- what reached Genesys ----

/** Waits until every acknowledged message has reached the fake Genesys at least once. */
export async function allArrived(genesys: GenesysProcess, convs: Message[][], timeoutMs: number): Promise<boolean> {
  const acked = convs.flat().filter((m) => m.acked);
  const seen = new Set<string>();
  let read = 0;
  return eventually(async () => {
    await genesys.read();
    for (; read < genesys.messages.length; read++) seen.add(genesys.messages[read]!.mid);
    return acked.every((m) => seen.has(m.mid));
  }, timeoutMs, 100);
}

export interface Outcome {
  sent: number;
  acked: number;
  delivered: number;
  duplicated: number;
  lost: number;
  outOfOrder: number;
  /** Genesys messages whose messageId was never sent (must be 0). */
  unknown: number;
}

/**
 * The counts every scenario asserts on. Lost: acknowledged, never reached Genesys. Out of order: conversations
 * whose first arrivals at Genesys do not follow the send order. Duplicated: arrivals beyond the first of a
 * messageId (a duplicate is recognisable as such only because it carries the same channel.messageId).
 */
export async function outcome(convs: Message[][], genesys: GenesysProcess): Promise<Outcome> {
  await genesys.read();
  const sentMids = new Map(convs.flat().map((m) => [m.mid, m]));
  const firstArrivals = new Map<number, number[]>();
  const seen = new Set<string>();
  let unknown = 0;
  let duplicated = 0;
  for (const { mid } of genesys.messages) {
    const m = sentMids.get(mid);
    if (!m) {
      unknown++;
      continue;
    }
    if (seen.has(mid)) {
      duplicated++;
      continue;
    }
    seen.add(mid);
    let list = firstArrivals.get(m.conversation);
    if (!list) firstArrivals.set(m.conversation, (list = []));
    list.push(m.index);
  }
  let outOfOrder = 0;
  for (const list of convs) {
    const arrived = firstArrivals.get(list[0]!.conversation) ?? [];
    // Every acknowledged message arrived, in send order (unacknowledged ones may only follow them).
    const expected = list.filter((m) => m.acked || seen.has(m.mid)).map((m) => m.index);
    if (arrived.length !== expected.length || arrived.some((index, i) => index !== expected[i])) outOfOrder++;
  }
  const all = [...sentMids.values()];
  return {
    sent: all.length,
    acked: all.filter((m) => m.acked).length,
    delivered: seen.size,
    duplicated,
    lost: all.filter((m) => m.acked && !seen.has(m.mid)).length,
    outOfOrder,
    unknown,
  };
}

/** The one line each scenario prints. */
export function report(scenario: string, o: Outcome, startedAt: number, extra = ''): void {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(
    `reliability ${scenario}: ${o.sent} sent, ${o.acked} acked, ${o.delivered} delivered, ${o.duplicated} duplicated, ` +
      `${o.lost} lost, ${o.outOfOrder} out of order, ${o.unknown} unknown; ${seconds} s${extra ? `; ${extra}` : ''}`,
  );
}
