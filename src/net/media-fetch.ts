/**
 * The streaming GET for media transfers (an agent's attachment downloaded from Genesys, a platform's media streamed
 * through GET /media): it fetches only what it is meant to, whatever URL a message names.
 *
 * - Only allowed origins (./allowed-origins.ts), checked again at every redirect hop; redirects are followed by
 *   hand, at most `maxRedirects` of them.
 * - The bridge resolves each host itself and refuses loopback, private, link-local, shared, multicast, unspecified
 *   and cloud-metadata addresses (./address-policy.ts), then connects to the very address it checked: no second
 *   lookup a DNS-rebinding server could answer differently. An operator-listed exact origin is not checked.
 * - A credential header goes only to the origin it was issued for, never to a host a redirect leads to.
 * - One deadline covers the whole transfer (every hop and the body); the body is capped at `maxBytes`.
 * - Failures are MediaFetchError. Its message never says what the remote side answered (status, redirect,
 *   refusal, timeout read alike), so a URL cannot be used to probe what answers where; `status` is there for the
 *   caller's retry or token-refresh decision and must not be put into a message either.
 *
 * Built on node:http(s), which lets the connection use a given address (`lookup`); fetch cannot.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { MediaFetch, MediaResponse } from '../core/media.js';
import { forbiddenAddressReason } from './address-policy.js';
import { bare, originVerdict, parseAllowedOrigins, type AllowedOrigins } from './allowed-origins.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address of a host name. Tests give their own; the default asks the system resolver. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export type MediaFetchFailure = 'not_allowed' | 'forbidden_address' | 'too_many_redirects' | 'too_large' | 'deadline' | 'unreachable' | 'status';

export class MediaFetchError extends Error {
  override readonly name = 'MediaFetchError';
  /** Worth trying again later: a timeout, a network failure, a 5xx, 408 or 429. */
  readonly retryable: boolean;
  constructor(
    readonly failure: MediaFetchFailure,
    message: string,
    /** For the operator's log (host, address, hop), never for whoever sent the URL. */
    readonly detail: string,
    /** The final answer's HTTP status (failure `status`): for decisions, never for messages. */
    readonly status?: number,
  ) {
    super(message);
    this.retryable = failure === 'deadline' || failure === 'unreachable' || (status !== undefined && (status >= 500 || status === 408 || status === 429));
  }
}

export interface MediaFetchOptions {
  /** The operator's list (configuration). */
  allowed: AllowedOrigins;
  resolve?: Resolver;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_REDIRECTS = 5;
/** Header names that carry credentials: they go in `credential`, so they never follow a redirect elsewhere. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-user', 'access-token']);

/** What every failure that depends on the remote side's answer says, whatever that answer was. */
const COULD_NOT_FETCH = 'the media could not be fetched';
/** Failures decided on the URL as given, before anything was asked of its host. */
const POLICY_MESSAGES: Partial<Record<MediaFetchFailure, string>> = {
  not_allowed: 'the media is not on a host the bridge may fetch from',
  forbidden_address: 'the media is on a local or private network address, which the bridge never fetches from',
};

const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

export function createMediaFetch(options: MediaFetchOptions): MediaFetch {
  const resolve = options.resolve ?? systemResolver;
  return async (request) => {
    const perUse = parseAllowedOrigins(request.allowHosts ?? []);
    if (perUse.origins.size > 0) throw new TypeError('allowHosts takes hosts and .suffixes; exact origins belong in the operator list');
    for (const name of Object.keys(request.headers ?? {})) {
      if (CREDENTIAL_HEADERS.has(name.toLowerCase())) throw new TypeError(`the ${name} header is a credential: pass it as credential`);
    }
    const credentialOrigin = request.credential ? new URL(request.credential.origin).origin : undefined;
    const deadline = new Deadline(request.deadlineMs);
    try {
      if (!URL.canParse(request.url)) throw failure('not_allowed', 0, 'not a URL');
      let url = new URL(request.url);
      for (let hop = 0; ; hop++) {
        const verdict = originVerdict(url, options.allowed, perUse);
        if (verdict === 'not-allowed') throw failure('not_allowed', hop, `${url.protocol}//${url.host} is not allowed`);
        const address = await deadline.race(addressOf(url, verdict === 'listed-host', resolve, hop), hop);
        const headers = { accept: '*/*', ...request.headers, ...(url.origin === credentialOrigin ? request.credential!.headers : {}) };
        const answer = get(url, address, headers, deadline.signal).catch((err: unknown) => {
          throw failure('unreachable', hop, `${url.host}: ${describe(err)}`);
        });
        const res = await deadline.race(answer, hop);
        const status = res.statusCode ?? 0;
        if (REDIRECT_STATUSES.has(status)) {
          res.destroy();
          const location = res.headers.location;
          if (location === undefined || !URL.canParse(location, url)) throw failure('status', hop, `${status} without a usable Location`, status);
          if (hop >= (request.maxRedirects ?? DEFAULT_MAX_REDIRECTS)) throw failure('too_many_redirects', hop, `more than ${hop} redirects`);
          url = new URL(location, url);
          continue;
        }
        if (status < 200 || status >= 300) {
          res.destroy();
          throw failure('status', hop, `${url.host} answered ${status}`, status);
        }
        const length = Number(res.headers['content-length'] ?? NaN);
        if (Number.isFinite(length) && length > request.maxBytes) {
          res.destroy();
          throw tooLarge(request.maxBytes, `Content-Length ${length}`);
        }
        return respond(res, { url, hop, maxBytes: request.maxBytes, contentLength: Number.isFinite(length) ? length : undefined }, deadline);
      }
    } catch (err) {
      deadline.clear();
      throw err instanceof MediaFetchError ? err : failure('unreachable', 0, describe(err));
    }
  };
}

/**
 * A failure whose message says nothing the remote side answered: only a refusal of the URL as given (hop 0) says
 * why; after a redirect, and for every answer, it reads alike.
 */
function failure(kind: Exclude<MediaFetchFailure, 'too_large'>, hop: number, detail: string, status?: number): MediaFetchError {
  const message = hop === 0 ? (POLICY_MESSAGES[kind] ?? COULD_NOT_FETCH) : COULD_NOT_FETCH;
  return new MediaFetchError(kind, message, `${detail} (hop ${hop})`, status);
}

function tooLarge(maxBytes: number, detail: string): MediaFetchError {
  return new MediaFetchError('too_large', `the media is larger than ${maxBytes} bytes`, detail);
}

/** The address to connect to: checked when the origin is not an operator's exact one. */
async function addressOf(url: URL, check: boolean, resolve: Resolver, hop: number): Promise<ResolvedAddress> {
  const host = bare(url.hostname);
  const family = isIP(host);
  let addresses: ResolvedAddress[];
  if (family !== 0) addresses = [{ address: host, family: family === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      throw failure('unreachable', hop, `${host} did not resolve: ${describe(err)}`);
    }
  }
  if (addresses.length === 0) throw failure('unreachable', hop, `${host} has no address`);
  // Every address must pass, not just the first: a resolver may rotate them between connections.
  for (const { address } of check ? addresses : []) {
    const reason = forbiddenAddressReason(address);
    if (reason !== undefined) throw failure('forbidden_address', hop, `${host} resolves to ${address}: ${reason}`);
  }
  return addresses[0]!;
}

/** Connects to `address` whatever the URL's host resolves to now; TLS still checks the certificate for the host. */
function pinnedTo({ address, family }: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

function get(url: URL, address: ResolvedAddress, headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? https.request : http.request;
    const req = send(url, { method: 'GET', headers, agent: false, lookup: pinnedTo(address), signal });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

interface Answer {
  url: URL;
  hop: number;
  maxBytes: number;
  contentLength: number | undefined;
}

function respond(res: http.IncomingMessage, { url, hop, maxBytes, contentLength }: Answer, deadline: Deadline): MediaResponse {
  let received = 0;
  let settled = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (err?: unknown) => {
          if (settled) return;
          settled = true;
          deadline.clear();
          if (err === undefined) controller.close();
          else controller.error(err instanceof MediaFetchError ? err : failure('unreachable', hop, `${url.host}: ${describe(err)}`));
        };
        deadline.onExpiry(() => res.destroy(failure('deadline', hop, 'the body did not arrive within the deadline')));
        res.on('data', (chunk: Buffer) => {
          // Chunks already read may still be emitted after the reader cancelled (settled) the stream.
          if (settled) return;
          received += chunk.length;
          if (received > maxBytes) {
            res.destroy(tooLarge(maxBytes, `more than ${maxBytes} bytes arrived`));
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) res.pause();
        });
        res.once('end', () => finish());
        res.once('error', finish);
        res.once('close', () => finish(res.complete ? undefined : new Error('the connection closed before the body was complete')));
      },
      pull() {
        res.resume();
      },
      cancel() {
        settled = true;
        deadline.clear();
        res.destroy();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );
  return {
    status: res.statusCode ?? 0,
    headers: { get: (name) => headerValue(res.headers[name.toLowerCase()]) },
    url: url.href,
    contentLength,
    body,
    bytes: () => readAll(body),
  };
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

/** One deadline over a whole transfer. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    this.timer = setTimeout(() => this.controller.abort(), ms);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  onExpiry(listener: () => void): void {
    if (this.signal.aborted) listener();
    else this.signal.addEventListener('abort', listener, { once: true });
  }

  /** `work`, or a deadline failure as soon as the deadline passes. */
  race<T>(work: Promise<T>, hop: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.onExpiry(() => reject(failure('deadline', hop, 'no answer within the deadline')));
      work.then(resolve, (err: unknown) => reject(this.signal.aborted ? failure('deadline', hop, 'no answer within the deadline') : err));
    });
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err);
}
