/**
 * The Genesys Cloud Platform API calls that administer Open Messaging integrations (genesys-open-messaging.md §4,
 * key fact 29; paths and models from https://github.com/MyPureCloud/platform-client-sdk-javascript
 * `ConversationsApi`, typed with its `Models`):
 *   GET   /api/v2/conversations/messaging/integrations/open?pageSize&pageNumber   list (paged)
 *   POST  /api/v2/conversations/messaging/integrations/open                     create
 *   GET   /api/v2/conversations/messaging/integrations/open/{integrationId}     read (the secret comes back in clear)
 *   PATCH /api/v2/conversations/messaging/integrations/open/{integrationId}     update
 * They need the OAuth client's role to hold `messaging:integration:view|add|edit` (§1); the bridge itself needs
 * only `conversation:message:receive`. Used by `dmbridge genesys setup` and `dmbridge doctor`, never on the
 * message path.
 */
import type { Models } from 'purecloud-platform-client-v2';
import { z } from 'zod';
import { PermanentError, RetryableError } from '../core/errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { httpCall, type HttpCall, type HttpRequestInit, type HttpResult } from '../net/http.js';
import type { GenesysTokenProvider } from './auth.js';
import { classifyGenesysFetchError, describeGenesysError, parseRetryAfter } from './errors.js';

export interface GenesysPlatformApiOptions {
  /** The parts of the `genesys` configuration these calls use. */
  config: { apiBaseUrl: string; clientId: string; timeoutMs: number };
  tokens: GenesysTokenProvider;
  http?: HttpCall;
  logger?: Logger;
  /** Epoch ms, for HTTP-date Retry-After. */
  clock?: () => number;
}

/** The permission each call needs (genesys-open-messaging.md §1). */
const PERMISSION = {
  list: 'messaging:integration:view',
  read: 'messaging:integration:view',
  create: 'messaging:integration:add',
  update: 'messaging:integration:edit',
} as const;
type Operation = keyof typeof PERMISSION;

/**
 * Genesys refused a call for good (400, 401 after a fresh token, 403, 404): retrying will not help. `status` lets
 * the caller tell the operator what to change; the message already says it.
 */
export class GenesysApiRefusal extends PermanentError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const BASE = '/api/v2/conversations/messaging/integrations/open';
/** The SDK's page size default is 25; 100 keeps an org's integrations to a page or two. */
const PAGE_SIZE = 100;
/** 100 pages of 100: a loop guard, far above any org's count of integrations. */
const MAX_PAGES = 100;

const integrationShape = z.looseObject({ id: z.string().min(1), name: z.string() });
const listingShape = z.looseObject({ entities: z.array(integrationShape).optional(), pageCount: z.number().optional() });

export class GenesysPlatformApi {
  private readonly config: GenesysPlatformApiOptions['config'];
  private readonly tokens: GenesysTokenProvider;
  private readonly http: HttpCall;
  private readonly logger: Logger;
  private readonly clock: () => number;

  constructor(opts: GenesysPlatformApiOptions) {
    this.config = opts.config;
    this.tokens = opts.tokens;
    this.http = opts.http ?? httpCall;
    this.logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? Date.now;
  }

  /** Every Open Messaging integration of the org, all pages. */
  async listOpenIntegrations(): Promise<Models.OpenIntegration[]> {
    const all: Models.OpenIntegration[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { bodyText } = await this.call('list', 'GET', `${BASE}?pageSize=${PAGE_SIZE}&pageNumber=${page}`);
      const listing = parseAnswer(listingShape, bodyText, 'list') as Models.OpenIntegrationEntityListing;
      const entities = listing.entities ?? [];
      all.push(...entities);
      if (entities.length === 0 || page >= (listing.pageCount ?? page)) break;
    }
    return all;
  }

  /** One integration, or undefined when Genesys does not know the id (404). */
  async getOpenIntegration(integrationId: string): Promise<Models.OpenIntegration | undefined> {
    const { response, bodyText } = await this.call('read', 'GET', `${BASE}/${encodeURIComponent(integrationId)}`, undefined, [404]);
    if (response.status === 404) return undefined;
    return parseAnswer(integrationShape, bodyText, 'read') as Models.OpenIntegration;
  }

  /** Creation is asynchronous: the answer says `createStatus: Initiated`; read it again until `Completed` (§4). */
  async createOpenIntegration(body: Models.OpenIntegrationRequest): Promise<Models.OpenIntegration> {
    const { bodyText } = await this.call('create', 'POST', BASE, body);
    return parseAnswer(integrationShape, bodyText, 'create') as Models.OpenIntegration;
  }

  /** `name` is required even when only the webhook changes (the model declares it so). */
  async updateOpenIntegration(integrationId: string, body: Models.OpenIntegrationUpdateRequest): Promise<Models.OpenIntegration> {
    const { bodyText } = await this.call('update', 'PATCH', `${BASE}/${encodeURIComponent(integrationId)}`, body);
    return parseAnswer(integrationShape, bodyText, 'update') as Models.OpenIntegration;
  }

  /** One call with a bearer token; a 401 renews the token and tries once more. `pass` lists statuses the caller handles. */
  private async call(operation: Operation, method: HttpRequestInit['method'], path: string, body?: unknown, pass: number[] = []): Promise<HttpResult> {
    let token = await this.tokens.getToken();
    let result = await this.send(operation, method, path, body, token);
    if (result.response.status === 401) {
      this.tokens.invalidate(token);
      token = await this.tokens.getToken();
      result = await this.send(operation, method, path, body, token);
    }
    const { status } = result.response;
    if (result.response.ok || pass.includes(status)) return result;
    // Never the body of a refused create/update: it would carry the secret back into a log line.
    this.logger.warn({ operation, status }, 'genesys.platform_request_failed');
    throw this.classify(operation, status, result);
  }

  private async send(operation: Operation, method: HttpRequestInit['method'], path: string, body: unknown, token: string): Promise<HttpResult> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.http(
        `${this.config.apiBaseUrl}${path}`,
        { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
        this.config.timeoutMs,
      );
    } catch (err) {
      throw classifyGenesysFetchError(err, `integration ${operation}`, this.config.timeoutMs).error;
    }
  }

  /**
   * | status      | error                                                    |
   * |-------------|----------------------------------------------------------|
   * | 429         | RetryableError, retryAfterMs from Retry-After            |
   * | 408, 5xx    | RetryableError                                           |
   * | 401         | GenesysApiRefusal: a fresh token was refused too         |
   * | 403         | GenesysApiRefusal naming the permission the role lacks   |
   * | other 4xx   | GenesysApiRefusal with Genesys's message                 |
   */
  private classify(operation: Operation, status: number, { response, bodyText }: HttpResult): RetryableError | GenesysApiRefusal {
    const what = `Genesys refused the integration ${operation} (${describeGenesysError(status, bodyText)})`;
    if (status === 429) return new RetryableError(what, { retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.clock()) });
    if (status === 408 || status >= 500) return new RetryableError(what);
    if (status === 401) {
      return new GenesysApiRefusal(
        `${what}: a fresh token was refused too; genesys.apiBaseUrl (${this.config.apiBaseUrl}) must be in the same region as genesys.loginBaseUrl`,
        status,
      );
    }
    if (status === 403) {
      return new GenesysApiRefusal(`${what}: the role of OAuth client ${this.config.clientId} needs the permission ${PERMISSION[operation]}`, status);
    }
    return new GenesysApiRefusal(what, status);
  }
}

/** A 2xx body of the expected shape, else a RetryableError (a proxy's page, a truncated answer). */
function parseAnswer(schema: z.ZodType, bodyText: string, operation: Operation): unknown {
  let value: unknown;
  try {
    value = JSON.parse(bodyText);
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RetryableError(`Genesys answered the integration ${operation} with something that is not an Open Messaging integration`);
  return parsed.data;
}
