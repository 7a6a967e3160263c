/**
 * Every hop of the sandbox, in one log: what the customer's platform posted to the bridge (signed), what the bridge
 * sent to Genesys and to the platform, the receipts, the agent's notifications. Each hop keeps the exact JSON that
 * crossed and its time on the sandbox clock; the console shows them, the terminal prints one line for most.
 * Sources: the fake Genesys's records, each fake platform's `calls()`, and what the console itself played.
 */
import type { ChannelModule, ChannelSandbox, SandboxCall, SandboxFake, SandboxWebhook } from '../../core/channel.js';
import type { FakeGenesys, Received } from '../fake-genesys/index.js';
import type { SandboxClock } from '../clock.js';

export type Party = 'customer' | 'platform' | 'bridge' | 'genesys' | 'agent';

/** What the customer's phone or the agent's panel shows for a hop. */
export type Bubble =
  | { on: 'phone'; who: 'customer'; text?: string; imageUrl?: string }
  | { on: 'phone'; who: 'brand'; text?: string; imageUrl?: string; messageId: string }
  | { on: 'agent'; who: 'customer'; text?: string; imageUrl?: string; name?: string }
  | { on: 'agent'; who: 'agent'; text?: string; imageUrl?: string; genesysMessageId: string }
  | { on: 'receipt'; genesysMessageId: string; status: string; sentence?: string };

export interface Hop {
  /** Position in the log, from 1. */
  seq: number;
  /** Epoch ms on the sandbox clock. */
  at: number;
  /** The channel it belongs to, by name, when known. */
  channel?: string;
  from: Party;
  to: Party;
  /** What crossed, e.g. `inbound message`, `POST /v1/messages` (the parties say from where to where). */
  title: string;
  /** The answer, e.g. `200 EVENT_RECEIVED`. */
  answer?: string;
  /** False when the receiving side refused it, or it reports a failure. */
  ok: boolean;
  /** The exact JSON that crossed. */
  json?: unknown;
  /** The headers that authenticate it, where they matter. */
  headers?: Record<string, string>;
  bubble?: Bubble;
}

export interface HopChannel {
  channel: ChannelModule;
  sandbox: ChannelSandbox;
  fake: SandboxFake;
}

/** At most this many hops are kept: the sandbox may run for days. */
const KEEP = 2000;

export class HopLog {
  private readonly hops: Hop[] = [];
  private seq = 0;
  private readonly cursors = { messages: 0, events: 0, receipts: 0, requests: 0 };
  private readonly seenCalls = new Map<string, Set<string>>();
  private readonly byIntegration: ReadonlyMap<string, HopChannel>;

  constructor(
    private readonly deps: { clock: SandboxClock; genesys: FakeGenesys; channels: readonly HopChannel[]; print?: (line: string) => void },
  ) {
    this.byIntegration = new Map(deps.channels.map((c) => [c.sandbox.integrationId, c]));
  }

  /** Hops after `seq`, oldest first, once every source has been read. */
  after(seq: number): Hop[] {
    this.collect();
    return this.hops.filter((h) => h.seq > seq);
  }

  /** Reads every source for what is new; cheap enough to call on every request and on a timer. */
  collect(): void {
    const { genesys } = this.deps;
    for (const m of genesys.messages.slice(this.cursors.messages)) this.genesysMessage(m);
    this.cursors.messages = genesys.messages.length;
    for (const e of genesys.events.slice(this.cursors.events)) this.genesysEvent(e);
    this.cursors.events = genesys.events.length;
    for (const r of genesys.receipts.slice(this.cursors.receipts)) this.genesysReceipt(r);
    this.cursors.receipts = genesys.receipts.length;
    for (const request of genesys.inboundRequests.slice(this.cursors.requests)) {
      // Accepted requests are the messages, events and receipts above; a refusal has no body worth keeping.
      if (request.status >= 300) {
        this.add({ at: this.deps.clock.at(request.at), from: 'bridge', to: 'genesys', title: `${request.endpoint} refused`, answer: String(request.status), ok: false });
      }
    }
    this.cursors.requests = genesys.inboundRequests.length;
    for (const c of this.deps.channels) for (const call of this.newCalls(c)) this.platformCall(c, call);
  }

  /** The webhooks a customer action posted (the console played it). */
  customerWebhooks(c: HopChannel, webhooks: readonly SandboxWebhook[], bubble: Extract<Bubble, { who: 'customer'; on: 'phone' }>, label: string): void {
    webhooks.forEach((w, i) => {
      const signature = Object.keys(w.headers).filter((h) => h !== 'content-type');
      this.add(
        {
          at: this.deps.clock.at(w.at),
          channel: c.channel.name,
          from: 'customer',
          to: 'bridge',
          title: `webhook POST ${w.path}, signed by ${c.channel.labels.platform} (${signature.join(', ')})`,
          answer: `${w.status} ${w.answer}`.trim(),
          ok: w.status === 200,
          json: parseJson(w.body),
          headers: w.headers,
          ...(i === 0 ? { bubble } : {}),
        },
        `customer → bridge: ${label}: ${w.status} ${w.answer}`,
      );
    });
  }

  /** A notification the agent's Genesys posted to the bridge (the console played it). */
  agentNotification(c: HopChannel, n: { at: number; path: string; headers: Record<string, string>; body: Record<string, unknown>; status: number; answer: string }, bubble: Extract<Bubble, { who: 'agent' }>): void {
    this.add(
      {
        at: n.at,
        channel: c.channel.name,
        from: 'agent',
        to: 'bridge',
        title: `outbound notification POST ${n.path}, signed (x-hub-signature-256)`,
        answer: `${n.status} ${n.answer}`.trim(),
        ok: n.status === 200,
        json: n.body,
        headers: n.headers,
        bubble,
      },
      `agent → bridge: ${n.status} ${n.answer} (Genesys message ${bubble.genesysMessageId})`,
    );
  }

  /** The brand's latest message on the customer's phone, for an action about it (a reaction). */
  latestBrandMessage(channel: string): string | undefined {
    this.collect();
    for (let i = this.hops.length - 1; i >= 0; i--) {
      const { channel: of, bubble } = this.hops[i]!;
      if (of === channel && bubble?.on === 'phone' && bubble.who === 'brand') return bubble.messageId;
    }
    return undefined;
  }

  private genesysMessage(m: Received): void {
    const c = this.byIntegration.get(m.integrationId);
    const body = m.body as GenesysMessageBody;
    const attachment = body.content?.find((x) => x.attachment)?.attachment;
    const name = body.channel?.from?.nickname ?? [body.channel?.from?.firstName, body.channel?.from?.lastName].filter(Boolean).join(' ');
    this.add(
      {
        at: this.deps.clock.at(m.at),
        ...(c ? { channel: c.channel.name } : {}),
        from: 'bridge',
        to: 'genesys',
        title: 'inbound message',
        answer: `200 (Genesys id ${m.id})`,
        ok: true,
        json: m.body,
        bubble: { on: 'agent', who: 'customer', ...(body.text ? { text: body.text } : {}), ...(attachment?.url ? { imageUrl: attachment.url } : {}), ...(name ? { name } : {}) },
      },
      `bridge → Genesys: ${describeForAgent(body)}`,
    );
  }

  private genesysEvent(e: Received): void {
    const c = this.byIntegration.get(e.integrationId);
    const events = (e.body as { events?: Array<{ eventType?: string }> }).events ?? [];
    const kinds = events.map((x) => x.eventType ?? 'event').join(', ');
    this.add({ at: this.deps.clock.at(e.at), ...(c ? { channel: c.channel.name } : {}), from: 'bridge', to: 'genesys', title: `event (${kinds})`, answer: '200', ok: true, json: e.body });
  }

  private genesysReceipt(r: Received): void {
    const c = this.byIntegration.get(r.integrationId);
    const body = r.body as { id: string; status: string; reasons?: Array<{ code?: string; message: string }> };
    const reason = body.reasons?.[0];
    this.add(
      {
        at: this.deps.clock.at(r.at),
        ...(c ? { channel: c.channel.name } : {}),
        from: 'bridge',
        to: 'genesys',
        title: `receipt ${body.status}${reason?.code ? ` (${reason.code})` : ''}`,
        answer: '200',
        ok: body.status !== 'Failed',
        json: r.body,
        bubble: { on: 'receipt', genesysMessageId: body.id, status: body.status, ...(reason ? { sentence: reason.message } : {}) },
      },
      `bridge → Genesys receipt for ${body.id}: ${body.status}${reason ? ` (${reason.code}) ${reason.message}` : ''}`,
    );
  }

  private platformCall(c: HopChannel, call: SandboxCall): void {
    const platform = c.channel.labels.platform;
    const toPlatform = call.direction === 'to-platform';
    const d = call.delivered;
    this.add(
      {
        at: this.deps.clock.at(call.at),
        channel: c.channel.name,
        from: toPlatform ? 'bridge' : 'platform',
        to: toPlatform ? 'platform' : 'bridge',
        title: call.request,
        ...(call.answer !== undefined ? { answer: call.answer } : {}),
        ok: true,
        ...(call.body !== undefined ? { json: call.body } : {}),
        ...(d ? { bubble: { on: 'phone', who: 'brand', messageId: d.messageId, ...(d.text !== undefined ? { text: d.text } : {}), ...(d.imageUrl ? { imageUrl: d.imageUrl } : {}) } } : {}),
      },
      // The echoes the platform posts back are not news for the terminal.
      toPlatform ? `bridge → ${platform}: ${call.body !== undefined ? JSON.stringify(call.body) : `${call.request} → ${call.answer ?? ''}`}` : undefined,
    );
  }

  /** The fake's exchanges not logged yet (a fake lists them oldest first; an exchange never changes once listed). */
  private newCalls(c: HopChannel): SandboxCall[] {
    let seen = this.seenCalls.get(c.channel.name);
    if (!seen) this.seenCalls.set(c.channel.name, (seen = new Set()));
    const fresh: SandboxCall[] = [];
    const counts = new Map<string, number>();
    for (const call of c.fake.calls()) {
      const base = `${call.direction} ${call.at} ${call.request} ${call.delivered?.messageId ?? ''}`;
      const n = (counts.get(base) ?? 0) + 1;
      counts.set(base, n);
      const key = `${base} #${n}`;
      if (seen.has(key)) continue;
      seen.add(key);
      fresh.push(call);
    }
    return fresh;
  }

  private add(hop: Omit<Hop, 'seq'>, line?: string): void {
    this.hops.push({ seq: ++this.seq, ...hop });
    if (this.hops.length > KEEP) this.hops.splice(0, this.hops.length - KEEP);
    if (line !== undefined) this.deps.print?.(line);
  }
}

interface GenesysMessageBody {
  text?: string;
  content?: Array<{ attachment?: { mediaType?: string; url?: string } }>;
  channel?: { from?: { nickname?: string; firstName?: string; lastName?: string; id?: string }; metadata?: { customAttributes?: Record<string, string> } };
}

/** `[Acme DM] jane.doe: Hi [Image https://…]`: the message as the agent sees it, for the terminal. */
function describeForAgent(msg: GenesysMessageBody): string {
  const who = msg.channel?.from?.nickname ?? msg.channel?.from?.id ?? 'unknown';
  const source = msg.channel?.metadata?.customAttributes?.['dmbridge.source'] ?? 'unknown source';
  const attachment = msg.content?.[0]?.attachment;
  const media = attachment ? ` [${attachment.mediaType} ${attachment.url}]` : '';
  return `[${source}] ${who}: ${msg.text ?? ''}${media}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
