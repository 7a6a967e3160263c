/**
 * What every route of the fake Genesys shares: its issued tokens and the OAuth client's permissions, the
 * injected failures, and Genesys's error body.
 */
import { randomUUID } from 'node:crypto';

/** A canned answer for the next requests, or `timeout`: the request is held and never answered. */
export type FakeFailure = { status: number; body?: unknown; headers?: Record<string, string> } | 'timeout';

/** Which group of endpoints a failure applies to. */
export type FakeEndpointGroup = 'inbound' | 'token' | 'platform';

/**
 * Permissions come from the roles of the OAuth client, not from scopes (genesys-open-messaging.md §1,
 * https://github.com/MyPureCloud/platform-client-sdk-javascript): the inbound endpoints need
 * `conversation:message:receive`, the integration admin endpoints `messaging:integration:view|add|edit`.
 */
export const ALL_PERMISSIONS = [
  'conversation:message:receive',
  'messaging:integration:view',
  'messaging:integration:add',
  'messaging:integration:edit',
] as const;
export type FakePermission = (typeof ALL_PERMISSIONS)[number];

/** The state the route modules read and write, owned by `startFakeGenesys`. */
export interface FakeContext {
  /** token → expiry, epoch ms. */
  tokens: Map<string, number>;
  permissions: ReadonlySet<string>;
  /** Applies latency, then a queued failure or the current outage's; returns the failure response or undefined. */
  injected(group: FakeEndpointGroup, request?: Request): Promise<Response | undefined>;
  /** Wakes the `waitFor*` checks after a message or receipt was recorded. */
  notify(): void;
}

/**
 * 401 for a missing, unknown or expired bearer token; 403 when the client's role lacks `permission`;
 * undefined when the request may go on.
 */
export function refuseUnauthorized(ctx: FakeContext, authorization: string | undefined, permission: FakePermission): Response | undefined {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  const expiresAt = ctx.tokens.get(token);
  if (expiresAt === undefined || expiresAt <= Date.now()) return genesysError(401, 'bad.credentials', 'Invalid login credentials.');
  // The 403 body's code and wording are UNCONFIRMED; callers must classify on the status alone.
  if (!ctx.permissions.has(permission)) {
    return genesysError(403, 'missing.permissions', `Unable to perform the requested action. You are missing the following permission(s): ${permission}`);
  }
  return undefined;
}

/** Genesys's error body: `{message, code, status, contextId, details, errors}` (genesys-open-messaging.md §2.5). */
export function genesysError(status: number, code: string, message: string, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  headers.set('content-type', 'application/json');
  headers.set('inin-correlation-id', randomUUID());
  return new Response(JSON.stringify({ message, code, status, contextId: randomUUID(), details: [], errors: [] }), {
    status,
    headers,
  });
}

/** A queued failure; 429 without a body gets the real one with `Retry-After` (genesys-open-messaging.md §1). */
export function failureResponse(failure: Exclude<FakeFailure, 'timeout'>): Response {
  const headers = new Headers(failure.headers);
  if (failure.body !== undefined) {
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(failure.body), { status: failure.status, headers });
  }
  if (failure.status === 429) {
    const seconds = headers.get('retry-after') ?? '1';
    headers.set('retry-after', seconds);
    const message = `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`;
    return genesysError(429, 'too.many.requests.retry.after', message, headers);
  }
  return genesysError(failure.status, `http.${failure.status}`, `Injected failure ${failure.status}`, headers);
}

/** The parsed JSON body, or Genesys's 400 answer when it is not JSON. */
export async function readJson(request: Request): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  try {
    return { ok: true, value: JSON.parse(await request.text()) };
  } catch {
    return { ok: false, response: genesysError(400, 'bad.request', 'The request could not be understood by the server due to malformed syntax.') };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
