/**
 * The channel port: everything the bridge knows about one platform, in one object per platform
 * (src/channels/<name>/index.ts), listed once in the registry (src/channels/index.ts). The intake, the jobs, the
 * HTTP app, the configuration and the CLI loop over the registry; no other code branches on a channel's name.
 * docs/adding-a-channel.md walks through writing one.
 */
import type { z } from 'zod';
import type { Clock } from './clock.js';
import type { OutboundMessageCommand } from './commands.js';
import type { Connection } from './connection.js';
import type { DoctorCheck, WebhookBase } from './doctor.js';
import type { ConversationState } from './conversation.js';
import type { GenesysReasonCode, PermanentError, RetryableError } from './errors.js';
import type { CustomerProfile, InboundEcho, InboundMessage, MediaReference, ParseResult } from './events.js';
import type { AgentAttachments, MediaFetch, MediaStream } from './media.js';
import type { Locks, Records } from './store.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** How the platform reads to the agent, to Architect and in the logs. */
export interface ChannelLabels {
  /** `dmbridge.source` and the agent's view of where a message came from, e.g. `Acme DM`. */
  source: string;
  /** The platform, as a sentence names it: `Acme`. */
  platform: string;
  /** Where the brand's own replies come from when not sent through the bridge: `the Acme app`. */
  app: string;
}

export type SignatureVerdict =
  | {
      ok: true;
      /** Identifies the secret that signed; `signers` tells which connections it may speak for. */
      signer: string;
      /** When the platform signed the delivery (epoch ms), where its signature covers a time: a redelivery keeps it. */
      signedAt?: number;
    }
  | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' | 'stale'; /** For the refusal body. */ message: string };

/** Checks one delivery's signature over the exact raw bytes; built once from the channel's connections. */
export type WebhookVerifier = (raw: Uint8Array, headers: Headers, now: number) => SignatureVerdict;

/** The platform's webhook: where it arrives, how it is authenticated, parsed and acknowledged. */
export interface ChannelWebhook<C extends Connection> {
  /** The route, e.g. `/webhooks/acme`. */
  path: string;
  /** Throws when a connection has no usable secret: verification never silently passes (fail closed). */
  verifier(connections: readonly C[]): WebhookVerifier;
  /** The signers (secrets) that may speak for this connection's account. */
  signers(connection: C): readonly string[];
  /**
   * Pure, never throws for any JSON value: unknown shapes become readable text or a counted skip. `connections`
   * are the channel's connections, for what the text shown to the agent depends on (a shop's order link).
   */
  parse(body: unknown, connections: readonly C[]): ParseResult;
  /**
   * A delivery's independent parts (a batch's entries), each a body `parse` takes on its own: the intake parses
   * them a few at a time, so the largest batch never holds the event loop. Without it the body is parsed whole.
   */
  split?(body: unknown): unknown[];
  /** The answer once the delivery is stored (or deliberately ignored). */
  acknowledge(): Response;
  /**
   * The platform does not document its webhook's Content-Type: the body is accepted whatever the header says (it is
   * parsed as JSON anyway), rather than refused with a 415 the platform would retry until it gives up.
   */
  anyContentType?: boolean;
  /** A subscription handshake on GET of the same path, if the platform has one. */
  handshake?(params: URLSearchParams, connections: readonly C[]): { ok: true; body: string } | { ok: false; message: string };
}

/** Whether a reply may go out now, decided before any call to the platform. */
export type ReplyVerdict = { send: true; tag?: string } | { send: false; reason: GenesysReasonCode; sentence: string };

/** What one platform provides to deliver agent replies (src/jobs/reply.ts runs it). */
export interface ChannelReplier {
  /** The account's rate-limit pause key: while it is paused no reply of this account is attempted. */
  readonly pauseKey: string;
  /** The platform's reply-window rule, before any call is made. */
  decide(command: OutboundMessageCommand, conversation: ConversationState, now: number): ReplyVerdict;
  /** The platform calls that make up this reply, in order; JSON-serialisable is not required. */
  build(command: OutboundMessageCommand, verdict: Extract<ReplyVerdict, { send: true }>, conversation: ConversationState): unknown[];
  /** One platform call; `conversation` lets a "window closed" refusal say when it closed. */
  send(request: unknown, conversation: ConversationState): Promise<{ messageId?: string; pauseUntil?: number }>;
  /** Best effort; a platform may decline (for example while its message budget is limited). */
  sendTyping(customerId: string, conversation: ConversationState): Promise<void>;
}

/**
 * Streams one media item named by a reference the parser emitted (GET /media/{token}), at most MEDIA_MAX_BYTES.
 * Throws when the item cannot be had (the platform refused, the link expired): never a stream of an error page.
 */
export type MediaSource = (reference: MediaReference) => Promise<MediaStream>;

/** What a connection can do once its clients exist. */
export interface ChannelConnection {
  replier: ChannelReplier;
  /** The customer's name and picture, where the platform has a profile API. Throws on any failure. */
  profile?(customerId: string): Promise<CustomerProfile>;
  /** Media that Genesys cannot fetch directly (it needs the platform's credentials, or its links expire). */
  media?: MediaSource;
  /**
   * The MIME type the platform serves a media item with, asked before Genesys is given the link (the parser could
   * only guess). Undefined when it cannot tell; never throws.
   */
  mediaMime?(reference: MediaReference): Promise<string | undefined>;
  /**
   * Periodic upkeep (the Node profile calls it hourly), such as renewing a token before it expires on an account
   * too quiet to renew it on use. Errors are logged by the caller.
   */
  upkeep?(): Promise<void>;
}

export interface ChannelDeps {
  /** Tokens that rotate are kept in records; a lock makes one refresh at a time across instances. */
  store: Records & Locks;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Every media transfer goes through it: allowed origins, address rules, credentials per origin (core/media.ts). */
  mediaFetch: MediaFetch;
  /** The agent's attachments: downloaded with the bridge's Genesys token, or linked through /media. */
  attachments: AgentAttachments;
}

/** What `dmbridge doctor` gives a channel: checks of credentials transfer no media. */
export type DoctorDeps = Omit<ChannelDeps, 'mediaFetch' | 'attachments'> & { webhookBase: WebhookBase | undefined };

/** When the reply windows end (epoch ms), for the routing attributes; `{}` when the customer never wrote. */
export interface ReplyWindowEnds {
  endsAt?: number;
  /** Only where the connection may use a human-agent extension. */
  humanAgentEndsAt?: number;
}

export interface ChannelModule<C extends Connection = Connection> {
  /** The `channel:` value of its connections and `dmbridge.channel`; lower case. */
  readonly name: string;
  readonly labels: ChannelLabels;
  /** The connection's part of the configuration: a strict object with `channel: z.literal(name)`. */
  readonly configSchema: z.ZodType<C>;
  /** Checks that need the rest of the configuration; each problem names its key. */
  configProblems?(connections: readonly C[], server: { publicUrl?: string | undefined }): string[];
  /** The account id its webhooks carry (the events' `accountId`): how a delivery finds its connection. */
  accountId(connection: C): string;
  readonly webhook: ChannelWebhook<C>;
  /** Builds the connection's clients. */
  connect(connection: C, deps: ChannelDeps): ChannelConnection;
  /**
   * Where the brand sent a message the bridge did not send (an echo), as the agent's note says it: `the Acme app`,
   * `another app connected to the Acme account`. `labels.app` when absent.
   */
  echoOrigin?(echo: InboundEcho): string;
  /** What a message itself says about its sender (a username), for platforms without a profile API. */
  senderProfile?(message: InboundMessage): CustomerProfile | undefined;
  /** For the participant data Architect routes on. */
  replyWindow(conversation: ConversationState, connection: C): ReplyWindowEnds;
  /**
   * True when the platform's read receipts are a watermark over the whole conversation rather than about one
   * message: they are then logged, never matched to an agent message.
   */
  readonly readsAreWatermarks: boolean;
  /**
   * How long after an event the platform may still deliver it, correctly signed (its retry horizon), in ms: the
   * dedupe keys must be kept at least this long, or a late redelivery would be forwarded twice.
   */
  redeliveryHorizonMs?(connection: C): number;
  /** Secrets every instance shares, from which the default media-link key is derived (modules with media). */
  mediaKeyMaterial?(connection: C): readonly string[];
  /** The platform's answer to an API call → the error taxonomy; undefined when it is a success. Never throws. */
  classifyError(status: number, bodyText: string, ctx: { connection: C; now: number }): RetryableError | PermanentError | undefined;
  /**
   * `dmbridge doctor`: online checks of the connection's credentials and subscriptions (token valid and when it
   * expires, webhook pointing at the webhook base URL), each failure with its fix. Never changes anything.
   */
  doctor?(connection: C, deps: DoctorDeps): Promise<DoctorCheck[]>;
  /** The local fake and the customer the sandbox plays; loaded only by the sandbox. */
  sandbox?(): Promise<ChannelSandbox>;
}

/** One webhook a fake platform posted to the bridge, exactly as sent (the sandbox console shows it). */
export interface SandboxWebhook {
  /** When it was posted, epoch ms, real time (the console puts it on the sandbox clock). */
  at: number;
  /** The bridge route, e.g. `/webhooks/acme`. */
  path: string;
  /** The headers sent, the signature among them. */
  headers: Record<string, string>;
  /** The exact bytes that were signed and sent (JSON text). */
  body: string;
  /** The bridge's answer. */
  status: number;
  answer: string;
}

/** What the sandbox receives from one playable customer action. */
export interface SandboxDelivery {
  /** The bridge's answer to the (last) webhook. */
  status: number;
  body: string;
  /** For the terminal: what was posted. */
  label: string;
  /** Every webhook the action posted, in order (an action may post several). */
  webhooks: readonly SandboxWebhook[];
  /** Whether a message the fake Genesys received is the one this delivery caused. */
  matches(genesysMessage: Record<string, unknown>): boolean;
}

/** One exchange at a fake platform: a call the bridge made to it, or a webhook it posted to the bridge (an echo). */
export interface SandboxCall {
  /** Epoch ms, real time (the console puts it on the sandbox clock). */
  at: number;
  direction: 'to-platform' | 'to-bridge';
  /** `POST /v1/messages`. */
  request: string;
  /** The request body as sent: parsed JSON where it was JSON, a description of a file upload; absent when empty. */
  body?: unknown;
  /** What the answer said, e.g. `200`, `code 0` (platforms that answer every call with HTTP 200 and a code). */
  answer?: string;
  /** When the call delivered the brand's message to the customer: what their phone shows. */
  delivered?: { messageId: string; text?: string; imageUrl?: string };
}

export interface SandboxFake {
  url: string;
  /** Every exchange so far, oldest first. */
  calls(): readonly SandboxCall[];
  close(): Promise<void>;
}

/**
 * Where and when a customer action happens. The sandbox clock can run ahead of real time (the console advances it
 * to close reply windows): the platform stamps and signs what it posts with it, as the real platform would with the
 * time of the world the bridge lives in.
 */
export interface SandboxScene {
  bridgeUrl: string;
  clock: Clock;
}

/** A message the customer writes. */
export interface SandboxMessage {
  text?: string;
  /** An image the customer sends (fetched by the sandbox where the platform hosts media itself). */
  imageUrl?: string;
  /** Another customer of the platform (default: the sandbox customer); a channel may refuse it. */
  from?: string;
}

/** What an action is played with. */
export interface SandboxActionInput {
  /** Typed by whoever plays the customer: a caption, an emoji. */
  text?: string;
  /** The platform id of the brand's message the action is about (`about: 'brand-message'`). */
  messageId?: string;
}

/** A customer action beyond writing, e.g. `mention`, `react`. */
export interface SandboxAction {
  /** One line for help texts and the console's button title. */
  help: string;
  /** `brand-message`: the action is about one of the brand's messages and needs its `messageId` (a reaction). */
  about?: 'brand-message';
  /** What `text` means for this action, when it takes one, e.g. `emoji`. */
  takesText?: string;
  /** Throws an Error with a sentence for the player when the input cannot be played. */
  play(scene: SandboxScene, input: SandboxActionInput): Promise<SandboxDelivery>;
}

/** A channel's part of the sandbox: its fake, its connection and the customer it plays (well-known secrets). */
export interface ChannelSandbox {
  connectionId: string;
  integrationId: string;
  genesysWebhookSecret: string;
  /** The customer the sandbox plays: the default recipient of an agent reply. */
  customerId: string;
  /** The customer's name, as their phone and the agent see it. */
  customerName: string;
  /**
   * Starts the fake platform on 127.0.0.1 (port 0: any free one); it posts its echoes to `bridgeUrl`, stamped and
   * signed with `clock` (default: real time).
   */
  startFake(opts: { port?: number; bridgeUrl: string; clock?: Clock }): Promise<SandboxFake>;
  /** The raw (pre-validation) connection configuration pointing at the fake. */
  connection(fakeUrl: string): Record<string, unknown>;
  /**
   * Plays the customer: a signed webhook, as the platform would deliver it. Throws an Error with a sentence for the
   * player when the platform cannot carry the message (the sandbox refuses it, exit status 2 on the command line).
   */
  send(scene: SandboxScene, message: SandboxMessage): Promise<SandboxDelivery>;
  /** More customer actions by name, e.g. `mention`. */
  actions?: Readonly<Record<string, SandboxAction>>;
}

/** A configured connection with its channel module and the clients built for it (the composition root makes them). */
export interface LinkedConnection {
  connection: Connection;
  channel: ChannelModule;
  clients: ChannelConnection;
}

/** The linked connections by connection id. */
export type ConnectionDirectory = ReadonlyMap<string, LinkedConnection>;
