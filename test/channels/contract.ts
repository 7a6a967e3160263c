/**
 * The contract every registered channel module must pass, end to end over real HTTP: a bridge with one connection
 * of the channel, the channel's platform fake, and the fake Genesys. Call it with a `ChannelUnderTest` that plays
 * the platform's side (test/channels/platforms.ts), and optionally the profile that runs the bridge (the Node
 * server by default; test/aws/aws-bridge.ts runs it as the AWS Lambda functions):
 *
 *   channelContract(instagramUnderTest);
 *   channelContract(instagramUnderTest, awsLambdaProfile(local));
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '../../src/channels/index.js';
import { configSchemaFor, type Config } from '../../src/config/index.js';
import type { ChannelModule } from '../../src/core/channel.js';
import type { Connection } from '../../src/core/connection.js';
import { silentLogger } from '../../src/logger.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../../src/sandbox/fake-genesys/index.js';
import { TEST, eventually, rawTestConfig, startTestServer, tempDir } from '../helpers.js';
import { mutatedDocument } from '../json-mutation.js';

/** The platform's side of one channel, as the suite needs to play it. */
export interface PlatformSide {
  /** The connection's raw configuration (as an operator writes it), pointing at the fake. */
  connection(id: string, genesys: { integrationId: string; webhookSecret: string }): Record<string, unknown>;
  /** The headers that sign this exact body as the platform signs it. */
  sign(raw: string): Record<string, string>;
  /** A webhook body: the customer writes `text`. `accountId` overrides the connection's account. */
  customerMessage(m: { messageId: string; customerId: string; text: string; accountId?: string }): unknown;
  /** The platform's echo of a message the business sent (with the id the platform answered the send with). */
  echo(m: { messageId: string; customerId: string; text: string }): unknown;
  /** A webhook body of a kind no version of the bridge has heard of. */
  unknownKind(): unknown;
  /** The messages the bridge sent through the fake, with the platform's ids for them, in order. */
  sent(): Array<{ messageId: string; text: string }>;
  close(): Promise<void>;
}

export interface ChannelUnderTest {
  channel: ChannelModule;
  /** Starts the platform fake. */
  start(): Promise<PlatformSide>;
}

/** A running bridge as the suite sees it, whichever profile runs it. */
export interface BridgeUnderTest {
  /** Where the platforms and Genesys send their webhooks. */
  url: string;
  config: Config;
  /** Jobs stored so far, in any state. */
  jobsStored(): Promise<number>;
  /** No job waits or runs. */
  drained(): Promise<boolean>;
  /** Webhook items not forwarded, of one reason or of all, over every process or function of the bridge. */
  skipped(reason?: string): Promise<number>;
  close(): Promise<void>;
}

export interface BridgeProfile {
  name: string;
  /** A bridge over `raw` (a configuration as an operator writes it), on the profile's own store. */
  start(raw: Record<string, unknown>, channels: readonly ChannelModule[]): Promise<BridgeUnderTest>;
}

/** The Node server (src/entry/server.ts) on a SQLite store of its own. */
export const nodeServerProfile: BridgeProfile = {
  name: 'Node server',
  async start(raw, channels) {
    const dir = tempDir();
    const config = configSchemaFor(channels).parse({ ...raw, store: `sqlite:${dir.path}/contract.db` });
    const running = await startTestServer({ config, logger: silentLogger, channels });
    const { store, metrics } = running.bridge;
    return {
      url: running.url,
      config,
      async jobsStored() {
        const s = await store.stats();
        return s.pending + s.leased + s.done + s.dead;
      },
      async drained() {
        const s = await store.stats();
        return s.pending === 0 && s.leased === 0;
      },
      skipped: async (reason) =>
        (await metrics.eventsSkipped.get()).values.filter((v) => reason === undefined || v.labels.reason === reason).reduce((sum, v) => sum + v.value, 0),
      async close() {
        await running.close();
        dir.cleanup();
      },
    };
  },
};

const INTEGRATION = '0a1b2c3d-9999-4222-8333-944455566677';
const WEBHOOK_SECRET = 'contract-genesys-webhook-secret-0123';
const CONNECTION = 'contract-connection';

type GenesysMessage = { text?: string; channel: { time: string; from: { id: string }; metadata: { customAttributes: Record<string, string> } } };

export function channelContract(under: ChannelUnderTest, profile: BridgeProfile = nodeServerProfile): void {
  const { channel } = under;
  const channels = CHANNELS.includes(channel) ? CHANNELS : [...CHANNELS, channel];
  const suffix = profile === nodeServerProfile ? '' : `, ${profile.name}`;

  describe(`the ${channel.name} channel module (channel contract${suffix})`, () => {
    let genesys: FakeGenesys;
    let platform: PlatformSide;
    let bridge: BridgeUnderTest;
    let configured: Connection;
    let n = 0;
    const fresh = () => {
      n++;
      return { messageId: `contract-${randomUUID()}`, customerId: `customer${n}x${randomUUID().slice(0, 8)}` };
    };

    beforeAll(async () => {
      genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [INTEGRATION] });
      platform = await under.start();
      const raw = rawTestConfig({ genesysUrl: genesys.url, store: 'set by the profile' });
      const connection = platform.connection(CONNECTION, { integrationId: INTEGRATION, webhookSecret: WEBHOOK_SECRET });
      bridge = await profile.start({ ...raw, server: { ...raw.server, publicUrl: 'http://127.0.0.1:1' }, connections: [connection] }, channels);
      configured = bridge.config.connections[0]!;
    });
    afterAll(async () => {
      await bridge?.close();
      await Promise.all([genesys?.close(), platform?.close()]);
    });

    const post = (body: unknown, headers?: Record<string, string>) => {
      const raw = JSON.stringify(body);
      return fetch(`${bridge.url}${channel.webhook.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(headers ?? platform.sign(raw)) }, body: raw });
    };
    const stored = () => bridge.jobsStored();
    const drained = () => bridge.drained();
    const genesysMessages = (customerId: string) =>
      genesys.messages.map((m) => m.body as { text?: string; channel: { messageId: string; from: { id: string } } }).filter((b) => b.channel.from.id === customerId);
    const skipped = (reason: string) => bridge.skipped(reason);

    it('refuses a delivery whose signature is missing, forged or for another body with 401, storing nothing', async () => {
      const body = platform.customerMessage({ ...fresh(), text: 'forged?' });
      const before = await stored();
      const other = platform.sign(JSON.stringify({ something: 'else' }));
      for (const headers of [{}, other]) expect((await post(body, headers)).status).toBe(401);
      expect(await stored()).toBe(before);
    });

    it("delivers a customer's message to Genesys once, however often the platform delivers it", async () => {
      const m = fresh();
      const body = platform.customerMessage({ ...m, text: 'Where is my order?' });
      for (let i = 0; i < 3; i++) expect((await post(body)).ok).toBe(true);
      expect(await eventually(() => genesysMessages(m.customerId).length > 0)).toBe(true);
      expect(await eventually(drained)).toBe(true);
      expect(genesysMessages(m.customerId)).toHaveLength(1);
      expect(genesysMessages(m.customerId)[0]!.text).toContain('Where is my order?');
    });

    it('sends the agent reply to the customer with a Delivered receipt, and never forwards its echo', async () => {
      const m = fresh();
      expect((await post(platform.customerMessage({ ...m, text: 'Hello?' }))).ok).toBe(true);
      expect(await eventually(() => genesysMessages(m.customerId).length === 1)).toBe(true);
      const { id, body } = outboundWebhookBody({ integrationId: INTEGRATION, customerId: m.customerId, text: 'Hi, how can I help?' });
      expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${CONNECTION}`, body, WEBHOOK_SECRET)).status).toBe(200);
      const receipt = () => genesys.receipts.map((r) => r.body as { id: string; status: string }).find((r) => r.id === id);
      expect(await eventually(() => receipt() !== undefined, 8000)).toBe(true);
      expect(receipt()!.status).toBe('Delivered');
      const sent = platform.sent().find((s) => s.text === 'Hi, how can I help?');
      expect(sent).toBeDefined();

      const echoes = await skipped('echo_bridge');
      expect((await post(platform.echo({ messageId: sent!.messageId, customerId: m.customerId, text: sent!.text }))).ok).toBe(true);
      expect(await eventually(async () => (await skipped('echo_bridge')) === echoes + 1)).toBe(true);
      expect(genesysMessages(m.customerId)).toHaveLength(1);
    });

    it("tells Genesys when the customer's reply window closes, as the channel's rule says", async () => {
      const m = fresh();
      expect((await post(platform.customerMessage({ ...m, text: 'Still there?' }))).ok).toBe(true);
      expect(await eventually(() => genesysMessages(m.customerId).length === 1)).toBe(true);
      const message = genesys.messages.map((g) => g.body as GenesysMessage).find((b) => b.channel.from.id === m.customerId)!;
      const { endsAt } = channel.replyWindow({ lastInboundAt: Date.parse(message.channel.time) }, configured);
      expect(endsAt).toBeDefined();
      expect(message.channel.metadata.customAttributes['dmbridge.replyWindowEndsAt']).toBe(new Date(endsAt!).toISOString());
    });

    it('answers an agent message it cannot send with a Failed receipt that names the platform', async () => {
      const m = fresh();
      const { id, body } = outboundWebhookBody({ integrationId: INTEGRATION, customerId: m.customerId, text: 'pick a date' });
      body.type = 'Hologram';
      expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${CONNECTION}`, body, WEBHOOK_SECRET)).status).toBe(200);
      const receipt = () => genesys.receipts.map((r) => r.body as { id: string; status: string; reasons?: Array<{ message: string }> }).find((r) => r.id === id);
      expect(await eventually(() => receipt() !== undefined, 8000)).toBe(true);
      expect(receipt()).toMatchObject({ status: 'Failed' });
      expect(receipt()!.reasons![0]!.message).toContain(`cannot send this kind of message to ${channel.labels.platform} (`);
    });

    it('acknowledges and counts a delivery for an account with no connection, forwarding nothing', async () => {
      const m = fresh();
      const before = await skipped('unknown_account');
      expect((await post(platform.customerMessage({ ...m, text: 'who?', accountId: '99999999999999999' }))).ok).toBe(true);
      expect(await skipped('unknown_account')).toBe(before + 1);
      expect(genesysMessages(m.customerId)).toHaveLength(0);
    });

    it('answers an unknown kind of event without an error: readable text for the agent or a counted skip', async () => {
      const before = await bridge.skipped();
      const messages = genesys.messages.length;
      expect((await post(platform.unknownKind())).ok).toBe(true);
      const counted = async () => (await bridge.skipped()) > before;
      expect(await eventually(async () => (await counted()) || genesys.messages.length > messages)).toBe(true);
    });

    it('parses without throwing whatever JSON arrives, and returns events and skips only', () => {
      const sample = platform.customerMessage({ ...fresh(), text: 'sample' });
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), mutatedDocument([sample])), (body) => {
          const result = channel.webhook.parse(body, [configured]);
          expect(Array.isArray(result.events) && Array.isArray(result.skipped)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  });
}
