/**
 * The guarded media GET against real HTTP servers on 127.0.0.1: only allowed origins, no private address at any
 * hop, the connection to the address that was checked, credentials only to their origin, one deadline, a byte
 * cap, and failures that do not say what the remote side answered.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedOrigins } from '../src/net/allowed-origins.js';
import type { MediaGet } from '../src/core/media.js';
import { createMediaFetch, MediaFetchError, type MediaFetchFailure, type ResolvedAddress } from '../src/net/media-fetch.js';

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** A server on 127.0.0.1 that records what it receives; `routes` answer by path. */
async function server(routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>) {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route) route(req, res);
    else res.writeHead(404).end('no such thing');
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  return { origin: `http://127.0.0.1:${port}`, port, seen, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
let a: Awaited<ReturnType<typeof server>>;
let b: Awaited<ReturnType<typeof server>>;
let unlisted: Awaited<ReturnType<typeof server>>;
const resolved: string[] = [];

/** Names only the test's resolver knows: anything that did its own DNS lookup would fail on them. */
const DNS: Record<string, ResolvedAddress[]> = {
  'media.test': [{ address: '127.0.0.1', family: 4 }],
  'loopback.cdn.test': [{ address: '127.0.0.1', family: 4 }],
  'private.cdn.test': [{ address: '10.0.0.7', family: 4 }],
  'metadata.cdn.test': [{ address: '169.254.169.254', family: 4 }],
  'mapped.cdn.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
  'v6loopback.cdn.test': [{ address: '::1', family: 6 }],
  'ec2.cdn.test': [{ address: 'fd00:ec2::254', family: 6 }],
  'mixed.cdn.test': [
    { address: '93.184.216.34', family: 4 },
    { address: '127.0.0.1', family: 4 },
  ],
};

function fetcher() {
  const allowed = parseAllowedOrigins([a.origin, b.origin, `http://media.test:${a.port}`, '.cdn.test']);
  return createMediaFetch({
    allowed,
    resolve: async (host) => {
      resolved.push(host);
      const addresses = DNS[host];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addresses;
    },
  });
}

const base = { deadlineMs: 2000, maxBytes: 1024 * 1024 } satisfies Partial<MediaGet>;

async function failureOf(promise: Promise<unknown>): Promise<MediaFetchError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaFetchError);
  return err as MediaFetchError;
}

beforeAll(async () => {
  unlisted = await server({ '/secret': (_req, res) => res.end('internal') });
  b = await server({
    '/image.png': (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png),
  });
  a = await server({
    '/image.png': (_req, res) => res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png),
    '/to-b': (_req, res) => res.writeHead(302, { location: `${b.origin}/image.png` }).end(),
    '/to-self': (_req, res) => res.writeHead(307, { location: '/image.png' }).end(),
    '/to-unlisted-loopback': (_req, res) => res.writeHead(302, { location: `${unlisted.origin}/secret` }).end(),
    '/to-mapped-literal': (_req, res) => res.writeHead(302, { location: `http://[::ffff:127.0.0.1]:${unlisted.port}/secret` }).end(),
    '/to-v6-literal': (_req, res) => res.writeHead(302, { location: `http://[::1]:${unlisted.port}/secret` }).end(),
    '/to-host': (req, res) => res.writeHead(302, { location: `https://${new URL(req.url!, 'http://x').searchParams.get('host')}/x.png` }).end(),
    '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
    '/missing': (_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('internal-banner v1.2.3'),
    '/broken': (_req, res) => res.writeHead(500).end('stack trace of the internal service'),
    '/slow-body': (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.write(Buffer.alloc(100)); // and nothing more: the deadline must end it
    },
    '/no-answer': () => undefined,
    '/declared-large': (_req, res) => res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 5000 }).end(Buffer.alloc(5000)),
    '/many-chunks': (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, i));
      res.end();
    },
    '/chunked-large': (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500));
      res.end();
    },
  });
});

afterAll(async () => {
  await Promise.all([a.close(), b.close(), unlisted.close()]);
});

describe('createMediaFetch: what it fetches', () => {
  it('streams an allowed origin’s media with its status, headers and bytes', async () => {
    const response = await fetcher()({ ...base, url: `${a.origin}/image.png` });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.contentLength).toBe(png.length);
    expect(Buffer.from(await response.bytes())).toEqual(png);
  });

  it('connects to the address it resolved and checked, keeping the host name (no second lookup to rebind)', async () => {
    resolved.length = 0;
    const response = await fetcher()({ ...base, url: `http://media.test:${a.port}/image.png` });
    expect(Buffer.from(await response.bytes())).toEqual(png);
    expect(resolved).toEqual(['media.test']);
    expect(a.seen.at(-1)!.headers.host).toBe(`media.test:${a.port}`);
  });

  it('refuses, before connecting, an origin nobody listed, another scheme, and credentials in the URL', async () => {
    const before = unlisted.seen.length;
    for (const url of [`${unlisted.origin}/secret`, 'file:///etc/passwd', 'data:image/png;base64,AAAA', `http://user:pw@127.0.0.1:${a.port}/image.png`, 'not a url']) {
      const err = await failureOf(fetcher()({ ...base, url }));
      expect(err.failure, url).toBe('not_allowed');
      expect(err.message).toBe('the media is not on a host the bridge may fetch from');
    }
    expect(unlisted.seen.length).toBe(before);
  });

  it('refuses allowed host names that resolve to loopback, private, metadata or IPv6 forms of them, at the first hop', async () => {
    for (const host of ['loopback.cdn.test', 'private.cdn.test', 'metadata.cdn.test', 'mapped.cdn.test', 'v6loopback.cdn.test', 'ec2.cdn.test', 'mixed.cdn.test']) {
      const err = await failureOf(fetcher()({ ...base, url: `https://${host}/x.png` }));
      expect(err.failure, host).toBe('forbidden_address');
      expect(err.message).toBe('the media is on a local or private network address, which the bridge never fetches from');
    }
  });
});

describe('createMediaFetch: redirects', () => {
  it('follows a redirect to another allowed origin, and within the same origin', async () => {
    const crossed = await fetcher()({ ...base, url: `${a.origin}/to-b` });
    expect(crossed.url).toBe(`${b.origin}/image.png`);
    expect(Buffer.from(await crossed.bytes())).toEqual(png);
    const same = await fetcher()({ ...base, url: `${a.origin}/to-self` });
    expect(Buffer.from(await same.bytes())).toEqual(png);
  });

  it('refuses a redirect to 127.0.0.1, [::ffff:127.0.0.1] or [::1] that nobody listed', async () => {
    const before = unlisted.seen.length;
    for (const path of ['/to-unlisted-loopback', '/to-mapped-literal', '/to-v6-literal']) {
      const err = await failureOf(fetcher()({ ...base, url: `${a.origin}${path}` }));
      expect(err.failure, path).toBe('not_allowed');
    }
    expect(unlisted.seen.length).toBe(before);
  });

  it('refuses a redirect to an allowed host name that resolves to 127.0.0.1 or a private address', async () => {
    for (const host of ['loopback.cdn.test', 'private.cdn.test', 'mapped.cdn.test', 'v6loopback.cdn.test']) {
      const err = await failureOf(fetcher()({ ...base, url: `${a.origin}/to-host?host=${host}` }));
      expect(err.failure, host).toBe('forbidden_address');
      // After a redirect the message is the same as for any other answer.
      expect(err.message).toBe('the media could not be fetched');
    }
  });

  it('sends a credential only to the origin it was issued for, never across a redirect to another host', async () => {
    const credential = { origin: a.origin, headers: { 'x-user': 'act.secret-token' } };
    await (await fetcher()({ ...base, url: `${a.origin}/to-b`, credential })).bytes();
    expect(a.seen.at(-1)!.headers['x-user']).toBe('act.secret-token');
    expect(b.seen.at(-1)!.headers['x-user']).toBeUndefined();

    await (await fetcher()({ ...base, url: `${a.origin}/to-self`, credential })).bytes();
    expect(a.seen.slice(-2).map((s) => s.headers['x-user'])).toEqual(['act.secret-token', 'act.secret-token']);
  });

  it('will not carry a credential in the headers every hop receives', async () => {
    for (const name of ['Authorization', 'x-user', 'Cookie']) {
      await expect(fetcher()({ ...base, url: `${a.origin}/image.png`, headers: { [name]: 'secret' } })).rejects.toThrow(TypeError);
    }
  });

  it('stops after the redirect limit', async () => {
    const err = await failureOf(fetcher()({ ...base, url: `${a.origin}/loop`, maxRedirects: 3 }));
    expect(err.failure).toBe('too_many_redirects');
    expect(a.seen.filter((s) => s.path === '/loop').length).toBeGreaterThanOrEqual(4);
  });
});

describe('createMediaFetch: deadline, size, and what failures say', () => {
  it('ends a body that stalls at the deadline over the whole transfer', async () => {
    const response = await fetcher()({ ...base, url: `${a.origin}/slow-body`, deadlineMs: 300 });
    const err = await failureOf(response.bytes());
    expect(err.failure).toBe('deadline');
    expect(err.retryable).toBe(true);
  });

  it('ends a request whose server never answers at the deadline', async () => {
    const err = await failureOf(fetcher()({ ...base, url: `${a.origin}/no-answer`, deadlineMs: 300 }));
    expect(err.failure).toBe('deadline');
  });

  it('refuses a body over the cap, whether declared or streamed', async () => {
    const declared = await failureOf(fetcher()({ ...base, url: `${a.origin}/declared-large`, maxBytes: 1000 }));
    expect(declared.failure).toBe('too_large');
    expect(declared.message).toBe('the media is larger than 1000 bytes');
    const response = await fetcher()({ ...base, url: `${a.origin}/chunked-large`, maxBytes: 1000 });
    expect((await failureOf(response.bytes())).failure).toBe('too_large');
  });

  it('lets a reader cancel a body it does not want: what was already read is dropped, nothing fails after', async () => {
    const errors: unknown[] = [];
    const onError = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onError);
    try {
      for (let i = 0; i < 5; i++) {
        const response = await fetcher()({ ...base, url: `${a.origin}/many-chunks` });
        await response.body.cancel();
      }
      // Chunks the socket had already read arrive after the cancel: they must not reach the closed stream.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(errors).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });

  it('reads alike whatever the remote side answered: 404, 500, a refused connection, a stall', async () => {
    const closed = await server({});
    await closed.close(); // a listed origin on which nothing listens any more
    const fetch = createMediaFetch({ allowed: parseAllowedOrigins([a.origin, closed.origin]) });
    const outcomes: Array<[string, MediaFetchFailure, number | undefined, boolean]> = [
      [`${a.origin}/missing`, 'status', 404, false],
      [`${a.origin}/broken`, 'status', 500, true],
      [`${closed.origin}/x.png`, 'unreachable', undefined, true],
      [`${a.origin}/no-answer`, 'deadline', undefined, true],
    ];
    for (const [url, kind, status, retryable] of outcomes) {
      const err = await failureOf(fetch({ ...base, url, deadlineMs: 300 }));
      expect([err.failure, err.status, err.retryable], url).toEqual([kind, status, retryable]);
      expect(err.message).toBe('the media could not be fetched');
      expect(err.message).not.toMatch(/404|500|banner|stack|ECONNREFUSED/);
    }
  });
});
