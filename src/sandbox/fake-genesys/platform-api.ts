/**
 * The Platform API calls that administer Open Messaging integrations (genesys-open-messaging.md §4 and key fact
 * 29; paths and models from https://github.com/MyPureCloud/platform-client-sdk-javascript `ConversationsApi`):
 *   GET   /api/v2/conversations/messaging/integrations/open?pageSize&pageNumber → OpenIntegrationEntityListing
 *   POST  /api/v2/conversations/messaging/integrations/open                   OpenIntegrationRequest → OpenIntegration
 *   GET   /api/v2/conversations/messaging/integrations/open/{id}              → OpenIntegration (secret in clear)
 *   PATCH /api/v2/conversations/messaging/integrations/open/{id}              OpenIntegrationUpdateRequest → OpenIntegration
 * Creation is asynchronous: `createStatus` is `Initiated` until it becomes `Completed`, or `Error` with
 * `createError` (https://github.com/MyPureCloud/platform-client-sdk-python, models/open_integration.py). The fake
 * answers `Initiated` to the first `pendingReads` reads by id of a new integration, then its outcome. What `status`
 * holds is not documented; the fake says `Active` once creation completed.
 */
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import type { Models } from 'purecloud-platform-client-v2';
import { genesysError, readJson, refuseUnauthorized, type FakeContext, type FakePermission } from './context.js';
import { describeIssues, openIntegrationRequest, openIntegrationUpdateRequest } from './schemas.js';

/** How the next integrations created through the API come to life. */
export interface FakeIntegrationLifecycle {
  /** Reads by id answered `createStatus: Initiated` before the outcome shows (0: at once). */
  pendingReads?: number;
  /** `Completed` (default) or `Error`. */
  outcome?: 'Completed' | 'Error';
  /**
   * Reads by id answered 404 before the new integration shows at all: the Genesys Terraform provider retries a
   * 404 right after a create (https://github.com/MyPureCloud/terraform-provider-genesyscloud).
   */
  hiddenReads?: number;
}

/** An integration that exists when the fake starts, as an administrator set it up in the UI. */
export interface FakeOpenIntegrationSeed {
  id?: string;
  name: string;
  outboundNotificationWebhookUrl: string;
  outboundNotificationWebhookSignatureSecretToken: string;
  /** `Completed` unless said. */
  createStatus?: 'Initiated' | 'Completed' | 'Error';
  /** `Active` once completed, unless said. */
  status?: string;
}

/** One call to the integration endpoints, whatever its answer. */
export interface PlatformRequest {
  method: string;
  path: string;
  status: number;
  /** The JSON body sent, for POST and PATCH. */
  body?: unknown;
}

interface StoredIntegration {
  integration: Models.OpenIntegration;
  hiddenReads: number;
  pendingReads: number;
  outcome: 'Completed' | 'Error';
}

const BASE = '/api/v2/conversations/messaging/integrations/open';

export class FakeIntegrationStore {
  private readonly byId = new Map<string, StoredIntegration>();
  private lifecycle: Required<FakeIntegrationLifecycle> = { pendingReads: 0, outcome: 'Completed', hiddenReads: 0 };

  constructor(seeds: FakeOpenIntegrationSeed[] = []) {
    for (const { createStatus = 'Completed', status, id, ...fields } of seeds) {
      const integration = newIntegration({ ...fields, id: id ?? randomUUID() });
      if (createStatus === 'Initiated') pending(integration);
      else settle(integration, createStatus);
      if (status !== undefined) integration.status = status;
      // A seed still being created stays so.
      const pendingReads = createStatus === 'Initiated' ? Number.POSITIVE_INFINITY : 0;
      this.byId.set(integration.id, { integration, hiddenReads: 0, pendingReads, outcome: 'Completed' });
    }
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Every integration as a read by id would show it now, without counting as a read. */
  list(): Models.OpenIntegration[] {
    return [...this.byId.values()].map((s) => structuredClone(s.integration));
  }

  setLifecycle(lifecycle: FakeIntegrationLifecycle): void {
    this.lifecycle = { pendingReads: lifecycle.pendingReads ?? 0, outcome: lifecycle.outcome ?? 'Completed', hiddenReads: lifecycle.hiddenReads ?? 0 };
  }

  create(fields: Pick<Models.OpenIntegration, 'name' | 'outboundNotificationWebhookUrl' | 'outboundNotificationWebhookSignatureSecretToken'> & Partial<Models.OpenIntegration>): Models.OpenIntegration {
    const integration = newIntegration({ ...fields, id: randomUUID() });
    const { pendingReads, outcome, hiddenReads } = this.lifecycle;
    if (pendingReads > 0) pending(integration);
    else settle(integration, outcome);
    this.byId.set(integration.id, { integration, hiddenReads, pendingReads, outcome });
    return structuredClone(integration);
  }

  /** A read by id: counts down a hidden, then a pending creation. */
  read(id: string): Models.OpenIntegration | undefined {
    const stored = this.byId.get(id);
    if (!stored) return undefined;
    if (stored.hiddenReads > 0) {
      stored.hiddenReads--;
      return undefined;
    }
    if (stored.pendingReads > 0) stored.pendingReads--;
    else if (stored.integration.createStatus === 'Initiated') settle(stored.integration, stored.outcome);
    return structuredClone(stored.integration);
  }

  update(id: string, changes: Partial<Models.OpenIntegration>): Models.OpenIntegration | undefined {
    const stored = this.byId.get(id);
    if (!stored) return undefined;
    Object.assign(stored.integration, changes, { dateModified: new Date().toISOString() });
    return structuredClone(stored.integration);
  }
}

export function registerPlatformApi(app: Hono, ctx: FakeContext, store: FakeIntegrationStore, log: PlatformRequest[]): void {
  /** Failures, then the token and the role's permission, for every integration call. */
  async function admit(request: Request, permission: FakePermission): Promise<Response | undefined> {
    return (await ctx.injected('platform', request)) ?? refuseUnauthorized(ctx, request.headers.get('authorization') ?? undefined, permission);
  }
  const logged = (method: string, path: string, response: Response, body?: unknown): Response => {
    log.push({ method, path, status: response.status, ...(body === undefined ? {} : { body }) });
    return response;
  };

  app.get(BASE, async (c) => {
    const refused = await admit(c.req.raw, 'messaging:integration:view');
    if (refused) return logged('GET', c.req.path, refused);
    const pageSize = positiveInt(c.req.query('pageSize'), 25);
    const pageNumber = positiveInt(c.req.query('pageNumber'), 1);
    if (pageSize === undefined || pageNumber === undefined) {
      return logged('GET', c.req.path, genesysError(400, 'bad.request', 'pageSize and pageNumber must be positive integers'));
    }
    const all = store.list();
    const listing: Models.OpenIntegrationEntityListing = {
      entities: all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
      pageSize,
      pageNumber,
      total: all.length,
      pageCount: Math.ceil(all.length / pageSize),
      selfUri: `${BASE}?pageSize=${pageSize}&pageNumber=${pageNumber}`,
    };
    return logged('GET', c.req.path, c.json(listing));
  });

  app.post(BASE, async (c) => {
    const refused = await admit(c.req.raw, 'messaging:integration:add');
    if (refused) return logged('POST', c.req.path, refused);
    const json = await readJson(c.req.raw);
    if (!json.ok) return logged('POST', c.req.path, json.response);
    const parsed = openIntegrationRequest.safeParse(json.value);
    if (!parsed.success) return logged('POST', c.req.path, genesysError(400, 'bad.request', describeIssues(parsed.error)), json.value);
    const { id: _ignored, ...fields } = parsed.data;
    return logged('POST', c.req.path, c.json(store.create(fields)), json.value);
  });

  app.get(`${BASE}/:id`, async (c) => {
    const refused = await admit(c.req.raw, 'messaging:integration:view');
    if (refused) return logged('GET', c.req.path, refused);
    const found = store.read(c.req.param('id'));
    return logged('GET', c.req.path, found ? c.json(found) : notFound(c.req.param('id')));
  });

  app.patch(`${BASE}/:id`, async (c) => {
    const refused = await admit(c.req.raw, 'messaging:integration:edit');
    if (refused) return logged('PATCH', c.req.path, refused);
    const json = await readJson(c.req.raw);
    if (!json.ok) return logged('PATCH', c.req.path, json.response);
    const parsed = openIntegrationUpdateRequest.safeParse(json.value);
    if (!parsed.success) return logged('PATCH', c.req.path, genesysError(400, 'bad.request', describeIssues(parsed.error)), json.value);
    const { id: _ignored, ...changes } = parsed.data;
    const updated = store.update(c.req.param('id'), changes);
    return logged('PATCH', c.req.path, updated ? c.json(updated) : notFound(c.req.param('id')), json.value);
  });
}

function newIntegration(fields: Omit<Models.OpenIntegration, 'selfUri'>): Models.OpenIntegration {
  const now = new Date().toISOString();
  return {
    ...fields,
    // The recipient is what Architect's Message Routing binds to a flow (genesys-open-messaging.md §4).
    recipient: { id: randomUUID() },
    dateCreated: now,
    dateModified: now,
    selfUri: `${BASE}/${fields.id}`,
  };
}

function pending(integration: Models.OpenIntegration): void {
  integration.createStatus = 'Initiated';
  delete integration.status;
  delete integration.createError;
}

function settle(integration: Models.OpenIntegration, outcome: 'Completed' | 'Error'): void {
  integration.createStatus = outcome;
  if (outcome === 'Completed') {
    integration.status = 'Active';
    return;
  }
  delete integration.status;
  integration.createError = {
    message: 'The Open Messaging integration could not be created',
    code: 'integration.create.failed',
    status: 500,
    contextId: randomUUID(),
  };
}

function notFound(id: string): Response {
  return genesysError(404, 'not.found', `Open messaging integration ${id} not found`);
}

function positiveInt(value: string | undefined, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  return /^[1-9]\d{0,5}$/.test(value) ? Number(value) : undefined;
}
