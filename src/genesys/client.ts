/**
 * The bridge → Genesys calls: inbound message and receipt on the per-integration Open Messaging
 * endpoints (genesys-open-messaging.md key fact 1, https://github.com/MyPureCloud/platform-client-sdk-javascript).
 * Every failure is thrown as RetryableError or PermanentError (./errors.ts); the worker decides what to do.
 */
import type { Models } from 'purecloud-platform-client-v2';
import type { GenesysConfig } from './config.js';
import { PermanentError } from '../core/errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { httpCall, type HttpCall, type HttpResult } from '../net/http.js';
import { GenesysTokenProvider } from './auth.js';
import { classifyGenesysFetchError, classifyGenesysResponse, GenesysBadRequest } from './errors.js';
import { fitInboundMessage } from './fit.js';
import type { GenesysInboundMessage, GenesysStructuredResponse } from './translate.js';

export interface GenesysClientOptions {
  config: GenesysConfig;
  http?: HttpCall;
  /** Share one provider between clients of the same OAuth client; built from `config` when absent. */
  tokens?: GenesysTokenProvider;
  metrics?: Metrics;
  logger?: Logger;
  /** Epoch ms; used for HTTP-date Retry-After and by the token cache built from `config`. */
  clock?: () => number;
}

type Endpoint = 'message' | 'receipt' | 'structured/response';

/**
 * Genesys answers any 2xx on success (200 vs 202 is UNCONFIRMED, key fact 11) and the body may be empty,
 * hence Partial.
 */
export type GenesysResult<T> = Partial<T>;

export class GenesysClient {
  private readonly config: GenesysConfig;
  private readonly http: HttpCall;
  private readonly tokens: GenesysTokenProvider;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private readonly clock: () => number;

  constructor(opts: GenesysClientOptions) {
    this.config = opts.config;
    this.http = opts.http ?? httpCall;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? Date.now;
    this.tokens =
      opts.tokens ??
      new GenesysTokenProvider({
        config: opts.config,
        http: this.http,
        clock: this.clock,
        ...(opts.metrics ? { metrics: opts.metrics } : {}),
        logger: this.logger,
      });
  }

  /**
   * A customer's message. `prefetchConversationId` asks Genesys to return the conversation id with it
   * (key fact 11). Echoes of the brand's own sends must never come here: Genesys would webhook them back
   * and the bridge would send them again (key fact 30).
   */
  async sendInboundMessage(
    integrationId: string,
    body: GenesysInboundMessage,
    opts: { prefetchConversationId?: boolean } = {},
  ): Promise<GenesysResult<Models.OpenMessageNormalizedMessage>> {
    const query = opts.prefetchConversationId ? '?prefetchConversationId=true' : '';
    try {
      return await this.post('message', integrationId, body, query);
    } catch (err) {
      // Refused as sent: when that may be its size, once more made smaller, so the agent still sees the message.
      const fitted = err instanceof GenesysBadRequest ? fitInboundMessage(body, this.config) : undefined;
      if (!fitted) throw err;
      this.logger.warn(
        { operation: 'message', integrationId, textChars: body.text?.length, attributes: Object.keys(body.channel.metadata.customAttributes).length },
        'genesys refused the message; sending it once more shortened',
      );
      return this.post('message', integrationId, fitted, query);
    }
  }

  /**
   * A tap on a quick reply or button a Genesys message offered (key fact 15): `…/inbound/open/structured/response`.
   */
  sendStructuredResponse(integrationId: string, body: GenesysStructuredResponse): Promise<GenesysResult<Models.OpenStructuredResponseNormalizedMessage>> {
    return this.post('structured/response', integrationId, body);
  }

  /**
   * Outcome of an agent message: `id` is the Genesys outbound message id, status `Delivered` or `Failed`
   * (key facts 12–13). A 2xx whose body says `status: "Failed"` is a failure (genesys-open-messaging.md
   * §2.2, https://github.com/gildas/go-gcloudcx) unless `Failed` is what we reported: the body echoes it.
   */
  async sendReceipt(
    integrationId: string,
    body: Models.OpenInboundNormalizedReceipt,
  ): Promise<GenesysResult<Models.OpenReceiptNormalizedMessage>> {
    const result = await this.post<Models.OpenReceiptNormalizedMessage>('receipt', integrationId, body);
    if (result.status === 'Failed' && body.status !== 'Failed') {
      const reason = result.reasons?.[0];
      throw new PermanentError(
        `Genesys answered the ${body.status} receipt for message ${body.id} with status Failed` +
          (reason ? ` (${reason.code ?? 'no code'}: ${reason.message})` : ''),
      );
    }
    return result;
  }

  /** One POST; on 401 the token is renewed and the call retried once (genesys-open-messaging.md §1). */
  private async post<T>(
    endpoint: Endpoint,
    integrationId: string,
    body: unknown,
    query = '',
  ): Promise<GenesysResult<T>> {
    const url =
      `${this.config.apiBaseUrl}/api/v2/conversations/messages/${encodeURIComponent(integrationId)}` +
      `/inbound/open/${endpoint}${query}`;
    const payload = JSON.stringify(body);
    let token = await this.tokens.getToken();
    let { response, bodyText } = await this.send(endpoint, url, payload, token);
    if (response.status === 401) {
      this.tokens.invalidate(token);
      token = await this.tokens.getToken();
      ({ response, bodyText } = await this.send(endpoint, url, payload, token));
    }
    if (!response.ok) {
      const error = classifyGenesysResponse(response.status, response.headers, bodyText, {
        operation: endpoint,
        clientId: this.config.clientId,
        now: this.clock(),
      });
      this.logger.warn(
        { operation: endpoint, integrationId, status: response.status, error: error.message },
        'genesys.request_failed',
      );
      throw error;
    }
    const result = parseObject(bodyText) as GenesysResult<T>;
    this.logger.debug(
      { operation: endpoint, integrationId, status: response.status, genesysId: (result as { id?: unknown }).id },
      'genesys.request_ok',
    );
    return result;
  }

  private async send(
    endpoint: Endpoint,
    url: string,
    payload: string,
    token: string,
  ): Promise<HttpResult> {
    const { timeoutMs } = this.config;
    try {
      const { response, bodyText } = await this.http(
        url,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
          body: payload,
        },
        timeoutMs,
      );
      this.count(endpoint, String(response.status));
      return { response, bodyText };
    } catch (err) {
      const { error, statusLabel } = classifyGenesysFetchError(err, endpoint, timeoutMs);
      this.count(endpoint, statusLabel);
      this.logger.warn({ operation: endpoint, status: statusLabel }, 'genesys.request_failed');
      throw error;
    }
  }

  private count(operation: Endpoint, status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'genesys', operation: operation.replace('/', '_'), status });
  }
}

/** A 2xx body as an object; `{}` when Genesys sent nothing or something that is not a JSON object. */
function parseObject(text: string): object {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}
