/**
 * A fake Meta media CDN on 127.0.0.1: what a customer's media link in an Instagram webhook points to
 * (`https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=…&signature=…`, instagram-messaging.md key fact 30). Like
 * the real one it answers the signed link with a redirect to the bytes, serves them with their real Content-Type and
 * no file extension, and stops serving a link once it has expired or the signature is wrong.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { listenOnLoopback } from '../../../net/loopback.js';

export interface FakeCdn {
  url: string;
  /** Serves these bytes; returns the signed link a webhook would carry. `redirectTo` sends the redirect elsewhere. */
  add(media: { contentType: string; bytes: Uint8Array; redirectTo?: string }): string;
  /** The link of this asset stops working, as Meta's do. */
  expire(link: string): void;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeCdn(): Promise<FakeCdn> {
  const assets = new Map<string, { contentType: string; bytes: Uint8Array; signature: string; expired: boolean; redirectTo?: string }>();
  const app = new Hono();
  const fake: FakeCdn = {
    url: '',
    requests: [],
    add(media) {
      const id = String(10_000_000 + assets.size);
      const signature = randomBytes(12).toString('base64url');
      assets.set(id, { ...media, signature, expired: false });
      return `${fake.url}/ig_messaging_cdn/?asset_id=${id}&signature=${signature}`;
    },
    expire(link) {
      const asset = assets.get(new URL(link).searchParams.get('asset_id') ?? '');
      if (asset) asset.expired = true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  app.use('*', async (c, next) => {
    fake.requests.push(c.req.path);
    await next();
  });
  app.get('/ig_messaging_cdn/', (c) => {
    const asset = assets.get(c.req.query('asset_id') ?? '');
    if (!asset || asset.expired || asset.signature !== c.req.query('signature')) return c.text('URL signature expired', 403);
    const target = asset.redirectTo ?? `${fake.url}/v/t59/${c.req.query('asset_id')}`;
    return c.redirect(`${target}?oe=${Math.floor(Date.now() / 1000) + 3600}`, 302);
  });
  app.get('/v/t59/:id', (c) => {
    const asset = assets.get(c.req.param('id'));
    if (!asset || asset.expired) return c.text('Not Found', 404);
    return new Response(new Uint8Array(asset.bytes), { headers: { 'content-type': asset.contentType, 'content-length': String(asset.bytes.length) } });
  });
  const { server, origin } = await listenOnLoopback(app);
  fake.url = origin;
  return fake;
}
