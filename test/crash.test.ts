/**
 * kill -9 mid-burst. A real bridge process (the built CLI) takes signed webhooks from many customers while
 * delivering to the fake Genesys; it is SIGKILLed at a random moment, restarted on the same SQLite file, and
 * the "platform" redelivers everything it saw no 200 for, as Meta does. Every acknowledged message must
 * reach Genesys, in order per customer, and a message re-sent after the crash keeps its channel.messageId.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, postInstagram, rawTestConfig, tempDir } from './helpers.js';

const CUSTOMERS = 25;
const PER_CUSTOMER = 24;
const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'entry', 'cli.js');

let genesys: FakeGenesys;
const dir = tempDir('dmbridge-crash-');

beforeAll(async () => {
  genesys = await startFakeGenesys({
    clientId: TEST.genesysClientId,
    clientSecret: TEST.genesysClientSecret,
    integrationIds: [TEST.integrationId],
    latencyMs: 5,
  });
});
afterAll(async () => {
  await genesys?.close();
  dir.cleanup();
});

async function startBridge(configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`bridge exited early (${code}): ${output}`)));
  });
  return { child, url };
}

interface Message {
  customer: string;
  index: number;
  mid: string;
  body: unknown;
  acked: boolean;
}

describe('a bridge killed with SIGKILL mid-burst', () => {
  it('loses no acknowledged message, keeps per-customer order, and re-sends keep their messageId', async () => {
    const configFile = join(dir.path, 'bridge.yaml');
    // A short lease, so the killed process's in-flight jobs are retaken soon after the restart.
    const config = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${join(dir.path, 'crash.db')}`, queue: { leaseMs: 2000 } });
    config.log.level = 'info'; // the child prints its URL in the "dmbridge listening" line
    writeFileSync(configFile, JSON.stringify(config));

    const messages: Message[][] = Array.from({ length: CUSTOMERS }, (_, c) =>
      Array.from({ length: PER_CUSTOMER }, (_, index) => {
        const mid = fakeMid();
        const customer = String(5_000_000 + c);
        return { customer, index, mid, acked: false, body: instagramDmWebhook({ mid, timestamp: 1_772_443_000_000 + index, text: `c${c} #${index}`, from: customer }, TEST.accountId) };
      }),
    );

    // Each customer sends in order, the next message only after the previous one was acknowledged.
    const sendAll = async (url: string, stopAfterFailure: boolean) =>
      Promise.all(
        messages.map(async (list) => {
          for (const m of list) {
            if (m.acked) continue;
            try {
              const res = await postInstagram(url, m.body);
              m.acked = res.status === 200;
            } catch {
              m.acked = false;
            }
            if (!m.acked && stopAfterFailure) return;
          }
        }),
      );

    let first = await startBridge(configFile);
    const firstRound = sendAll(first.url, true);
    const ackedCount = () => messages.flat().filter((m) => m.acked).length;
    const killAt = 150 + Math.floor(Math.random() * 200);
    expect(await eventually(() => ackedCount() >= killAt, 15_000, 1)).toBe(true);
    first.child.kill('SIGKILL');
    await firstRound;
    const ackedBeforeCrash = messages.flat().filter((m) => m.acked);
    const resentAfterCrash = messages.flat().filter((m) => !m.acked);
    expect(ackedBeforeCrash.length).toBeGreaterThanOrEqual(killAt);
    expect(resentAfterCrash.length).toBeGreaterThan(0);

    const second = await startBridge(configFile);
    try {
      await sendAll(second.url, false);
      expect(messages.flat().every((m) => m.acked)).toBe(true);

      const all = messages.flat();
      const received = () => new Set(genesys.messages.map((m) => (m.body as { channel: { messageId: string } }).channel.messageId));
      expect(await eventually(() => all.every((m) => received().has(m.mid)), 30_000, 50)).toBe(true);

      // Order per customer: the first arrival of each message follows the sending order.
      for (const list of messages) {
        const arrivals = genesys.messages
          .map((m) => m.body as { channel: { messageId: string; from: { id: string } } })
          .filter((b) => b.channel.from.id === list[0]!.customer)
          .map((b) => list.findIndex((m) => m.mid === b.channel.messageId));
        expect(arrivals.every((i) => i >= 0)).toBe(true);
        const firstArrivals = arrivals.filter((i, pos) => arrivals.indexOf(i) === pos);
        expect(firstArrivals).toEqual(list.map((m) => m.index));
      }
      // Duplicates are possible only for jobs that were in flight at the kill (at most one per customer).
      const duplicates = genesys.messages.length - received().size;
      expect(duplicates).toBeLessThanOrEqual(CUSTOMERS);
      console.log(
        `crash test: ${all.length} sent, ${ackedBeforeCrash.length} acked before SIGKILL, ${resentAfterCrash.length} re-sent after, ` +
          `${received().size} delivered, ${duplicates} duplicates (same messageId), 0 lost`,
      );
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  }, 60_000);
});
