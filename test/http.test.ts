import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyGenesysFetchError } from '../src/genesys/errors.js';
import { httpCall } from '../src/net/http.js';
import { rejectionOf } from './helpers.js';

let server: Server | undefined;

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

describe('httpCall', () => {
  it('sends method, headers and body with a Content-Length, and returns status, headers and text', async () => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const url = await serve((req, res, body) => {
      seen = { method: req.method, headers: req.headers, body };
      res.writeHead(201, { 'content-type': 'application/json', 'x-trace': 'abc', 'set-cookie': ['a=1', 'b=2'] });
      res.end('{"id":"ünïcode"}');
    });
    const { response, bodyText } = await httpCall(`${url}/api/v2/x?y=1`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: '{"text":"héllo"}' }, 1000);
    expect(seen.method).toBe('POST');
    expect(seen.headers?.authorization).toBe('Bearer t');
    expect(seen.headers?.['content-length']).toBe(String(Buffer.byteLength('{"text":"héllo"}')));
    expect(seen.body).toBe('{"text":"héllo"}');
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('X-Trace')).toBe('abc');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(response.headers.get('retry-after')).toBeNull();
    expect(bodyText).toBe('{"id":"ünïcode"}');
  });

  it('returns a 4xx/5xx answer with ok false instead of throwing', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end('slow down');
    });
    const { response, bodyText } = await httpCall(url, { method: 'GET' }, 1000);
    expect([response.status, response.ok, response.headers.get('retry-after'), bodyText]).toEqual([429, false, '7', 'slow down']);
  });

  it('keeps connections alive between calls', async () => {
    const ports = new Set<number>();
    const url = await serve((req, res) => {
      ports.add(req.socket.remotePort!);
      res.end('ok');
    });
    for (let i = 0; i < 5; i++) await httpCall(url, { method: 'GET' }, 1000);
    expect(ports.size).toBe(1);
  });

  it('rejects with a TimeoutError when the answer does not come within the deadline, body included', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      res.write('{"partial":'); // and never ends
    });
    const started = Date.now();
    const err = await rejectionOf(httpCall(url, { method: 'GET' }, 150));
    expect(Date.now() - started).toBeLessThan(1000);
    expect((err as Error).name).toBe('TimeoutError');
    expect(classifyGenesysFetchError(err, 'message', 150).statusLabel).toBe('timeout');
  });

  it('rejects with the Node error code as cause when nothing listens', async () => {
    const url = await serve(() => undefined);
    server!.close();
    await new Promise((r) => setTimeout(r, 20));
    const err = await rejectionOf(httpCall(url, { method: 'POST', body: 'x' }, 1000));
    expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    const classified = classifyGenesysFetchError(err, 'message', 1000);
    expect(classified.statusLabel).toBe('network');
    expect(classified.error.message).toContain('ECONNREFUSED');
  });

  it('rejects when the connection drops in the middle of the answer', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"half":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const err = await rejectionOf(httpCall(url, { method: 'GET' }, 2000));
    expect(classifyGenesysFetchError(err, 'message', 2000).statusLabel).toBe('network');
  });

  it('refuses an answer larger than 16 MB instead of buffering it', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 97);
      let sent = 0;
      const pump = () => {
        while (sent < 20 && res.write(chunk)) sent++;
        if (sent < 20) res.once('drain', () => { sent++; pump(); });
        else res.end();
      };
      pump();
    });
    const err = await rejectionOf(httpCall(url, { method: 'GET' }, 5000));
    expect(String(((err as Error).cause as Error).message)).toContain('larger than');
  });

  it('verifies TLS certificates: a server whose certificate no CA signed is refused, not talked to', async () => {
    // A self-signed certificate for 127.0.0.1 (test/fixtures/tls, valid for 100 years), as a man in the middle would present.
    const tls = join(import.meta.dirname, 'fixtures', 'tls');
    let reached = false;
    const secure = createTlsServer({ key: readFileSync(join(tls, 'self-signed.key')), cert: readFileSync(join(tls, 'self-signed.crt')) }, (_req, res) => {
      reached = true;
      res.end('{}');
    });
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = secure.address() as AddressInfo;
      const err = await rejectionOf(httpCall(`https://127.0.0.1:${port}/oauth/token`, { method: 'POST', body: 'grant_type=client_credentials' }, 2000));
      expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(classifyGenesysFetchError(err, 'token', 2000).statusLabel).toBe('network');
      expect(reached).toBe(false);
    } finally {
      await new Promise((resolve) => secure.close(resolve));
    }
  });

  it('refuses URLs that are not http or https', async () => {
    const err = await rejectionOf(httpCall('file:///etc/passwd', { method: 'GET' }, 1000));
    expect(err).toBeInstanceOf(TypeError);
  });
});
