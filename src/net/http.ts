/**
 * One HTTP call to an API (Genesys, a platform): the request, its whole answer read as text, and one
 * deadline covering connect, response and body.
 *
 * Built on node:http(s) with keep-alive agents rather than global fetch: on Node 20, fetch (undici behind
 * WHATWG Request/Response/streams) cost about four times the CPU and three times the garbage per call, which
 * slowed a backlog's drain by 40 % and grew the heap (docs/benchmarks.md, "Outbound HTTP"). These calls need none of
 * what fetch adds: a JSON or form body goes out, a small text body comes back. Media transfers, which stream,
 * still use fetch.
 *
 * Failures reject the way fetch's do, so one classifier per platform handles both: a timeout with a
 * DOMException named TimeoutError, anything else (refused, reset, DNS) with an Error whose `cause` carries
 * Node's error and its `code`.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpRequestInit {
  method: 'GET' | 'POST' | 'PATCH';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** What callers read of a header set; `Headers` has the same shape, so tests can pass one. */
export interface HeaderReader {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  /** 2xx. */
  ok: boolean;
  headers: HeaderReader;
}

export interface HttpResult {
  response: HttpResponse;
  bodyText: string;
}

export type HttpCall = (url: string, init: HttpRequestInit, timeoutMs: number) => Promise<HttpResult>;

/** A platform API answer is a few KB; anything past this is a broken or hostile server, not a reply to read. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Idle sockets are closed after this long. A server that announces a shorter `Keep-Alive: timeout=` is believed
 * (minus a second): Node's agent applies the hint only when its own timeout is set and longer, so it must be set.
 * Reusing a socket the server has just closed would fail the call with ECONNRESET.
 */
const IDLE_SOCKET_MS = 30_000;

const agents = {
  'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
};

export const httpCall: HttpCall = (url, init, timeoutMs) =>
  new Promise<HttpResult>((resolve, reject) => {
    const target = new URL(url);
    const protocol = target.protocol;
    if (protocol !== 'http:' && protocol !== 'https:') {
      reject(new TypeError(`only http and https URLs can be called, not ${protocol}`));
      return;
    }
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const send = protocol === 'https:' ? https.request : http.request;
    const req = send(target, { method: init.method, headers, agent: agents[protocol] });

    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    const networkError = (err: Error) => fail(new Error(`${init.method} ${target.host} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));

    req.on('error', networkError);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) networkError(new Error(`the answer is larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('error', networkError);
      res.on('close', () => {
        if (!res.complete) networkError(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        resolve({
          response: { status, ok: status >= 200 && status < 300, headers: headerReader(res.headers) },
          bodyText: Buffer.concat(chunks, size).toString('utf8'),
        });
      });
    });
    req.end(init.body);
  });

/** Node gives lower-case names, repeated headers as arrays (set-cookie) or already joined with ", ". */
function headerReader(headers: http.IncomingHttpHeaders): HeaderReader {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
