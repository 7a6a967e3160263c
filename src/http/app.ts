/**
 * The HTTP surface: routes only, each a few lines calling the intake services; one webhook route per channel
 * intake (from the registry). Runs unchanged on @hono/node-server and on AWS Lambda.
 */
import { Hono, type Handler, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ChannelIntake } from '../intake/channel-intake.js';
import type { GenesysIntake } from '../intake/genesys-intake.js';
import { refuse } from '../intake/refuse.js';
import type { Logger } from '../logger.js';
import type { Backlog, DeadLetters } from '../core/store.js';
import type { MediaProxy } from '../media/proxy.js';
import type { Metrics } from '../metrics.js';
import { bearerGuard, mountAdminApi, type Readiness } from './admin.js';

export interface HttpDeps {
  /** One per channel with connections. */
  channels: readonly ChannelIntake[];
  genesys: GenesysIntake;
  media: MediaProxy;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** With `admin.token`: `/metrics` behind the token, and the admin API when the store keeps dead letters. */
  admin?: { token: string; operations?: DeadLetters & Backlog };
  /** `/readyz`; absent where the runtime has no such probe (a Lambda function). */
  readiness?: () => Promise<Readiness>;
}

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  const [jsonOnly, sizeLimit] = webhookBodyGuards(deps.bodyLimitBytes);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const { readiness, admin } = deps;
  if (readiness) {
    app.get('/readyz', async (c) => {
      const { ready, problems } = await readiness();
      return c.json(ready ? { status: 'ready' } : { status: 'unready', problems }, ready ? 200 : 503);
    });
  }
  const guard = admin ? bearerGuard(admin.token) : undefined;
  if (guard) app.use('/metrics', guard);
  app.get('/metrics', async (c) =>
    c.body(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }),
  );
  if (guard && admin?.operations) mountAdminApi(app, admin.operations, guard);

  for (const intake of deps.channels) {
    const { path } = intake.channel.webhook;
    const { handshake } = intake;
    if (handshake) app.get(path, (c) => handshake(new URL(c.req.url)));
    const receive: Handler = (c) => intake.receive(c.req.raw);
    if (intake.channel.webhook.anyContentType) app.post(path, sizeLimit, receive);
    else app.post(path, jsonOnly, sizeLimit, receive);
  }
  app.get('/media/:token', (c) => deps.media.serve(c.req.param('token')));
  app.post('/webhooks/genesys/:connectionId', jsonOnly, sizeLimit, (c) => deps.genesys.receive(c.req.param('connectionId'), c.req.raw));

  app.notFound(() => refuse('NOT_FOUND', 'no such route'));
  app.onError((err) => {
    deps.logger.error({ err }, 'unhandled error in request');
    return refuse('INTERNAL', 'internal error');
  });
  return app;
}

/** Webhook bodies must be JSON and no larger than the configured limit (checked while streaming). */
function webhookBodyGuards(maxSize: number): [MiddlewareHandler, MiddlewareHandler] {
  const jsonOnly: MiddlewareHandler = async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      return refuse('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    }
    await next();
  };
  const tooLarge = () => {
    // The rest of the body is never read, so the connection cannot carry another request: say so.
    const res = refuse('BODY_TOO_LARGE', `the body exceeds ${maxSize} bytes`);
    res.headers.set('connection', 'close');
    return res;
  };
  const streamed = bodyLimit({ maxSize, onError: tooLarge });
  const sizeLimit: MiddlewareHandler = async (c, next) => {
    // With a Content-Length (every webhook sender sends one) the header decides: Node's parser never reads
    // past it. hono's bodyLimit checks it too, but only after touching the request's `body`, which makes
    // @hono/node-server build a full web Request (stream, AbortSignal) for every webhook instead of reading
    // the bytes straight from the socket: a third of the ingest path's allocations. Chunked bodies are
    // counted while they stream.
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamed(c, next);
    return Number(length) > maxSize ? tooLarge() : next();
  };
  return [jsonOnly, sizeLimit];
}
