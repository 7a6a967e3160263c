/**
 * HTTP in front of Lambda handlers on 127.0.0.1, as AWS puts it there:
 * - `serveHttpApi`: an API Gateway HTTP API with a Lambda proxy integration (payload 2.0): each request becomes
 *   an event (./lambda-events.ts), the handler's result becomes the response.
 * - `serveFunctionUrl`: a function URL in RESPONSE_STREAM mode: the handler must be wrapped by
 *   `awslambda.streamifyResponse` (installed by `installAwsLambdaGlobal`, as the Node.js runtime installs it), and
 *   its stream is sent on as it is written: the JSON prelude (status, headers, cookies) up to 8 NUL bytes, then
 *   the body. https://docs.aws.amazon.com/lambda/latest/dg/config-rs-write-functions.html
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';
import { httpApiEvent, lambdaContext } from './lambda-events.js';

export interface LocalEndpoint {
  url: string;
  close(): Promise<void>;
}

interface ProxyResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, Array<string | number | boolean>>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
}

/** hono/aws-lambda types the events its own way; any handler of payload 2.0 events fits. */
type BufferedHandler = (event: never, context: Context) => Promise<ProxyResult>;
/** What `awslambda.streamifyResponse` wraps: (event, responseStream, context). Typed loosely, as hono types it. */
export type StreamingHandler = (...args: never[]) => unknown;
type StreamingCall = (event: unknown, stream: Writable, context: Context) => Promise<void>;

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const PRELUDE_TYPE = 'application/vnd.awslambda.http-integration-response';

export async function serveHttpApi(handler: BufferedHandler, functionName = 'dmbridge-ingress'): Promise<LocalEndpoint> {
  return listen(async (req, res, body) => {
    const event = httpApiEvent({ method: req.method ?? 'GET', url: req.url ?? '/', headers: requestHeaders(req), body });
    const result = await handler(event as never, lambdaContext(functionName, 29_000));
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = v.map(String);
    if (result.cookies?.length) headers['set-cookie'] = result.cookies;
    res.writeHead(result.statusCode, headers);
    res.end(result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
  });
}

/** What the Node.js runtime defines before it loads the function's code. */
export function installAwsLambdaGlobal(): void {
  (globalThis as { awslambda?: unknown }).awslambda = {
    streamifyResponse(handler: StreamingCall) {
      (handler as unknown as Record<symbol, string>)[STREAMING] = 'response';
      return handler;
    },
    HttpResponseStream: {
      from(stream: ResponseStream, prelude: unknown) {
        stream.setContentType(PRELUDE_TYPE);
        const json = JSON.stringify(prelude);
        stream._onBeforeFirstWrite = (write) => {
          write(json);
          write(new Uint8Array(8));
        };
        return stream;
      },
    },
  };
}

export async function serveFunctionUrl(handler: StreamingHandler, functionName = 'dmbridge-media'): Promise<LocalEndpoint> {
  if ((handler as unknown as Record<symbol, unknown>)[STREAMING] !== 'response') throw new Error('the handler is not wrapped by awslambda.streamifyResponse');
  return listen(async (req, res, body) => {
    const event = httpApiEvent({ method: req.method ?? 'GET', url: req.url ?? '/', headers: requestHeaders(req), body }, { domainName: 'abcdefghij.lambda-url.us-east-1.on.aws' });
    const stream = new ResponseStream(res);
    await (handler as unknown as StreamingCall)(event, stream, lambdaContext(functionName, 60_000));
    if (!stream.writableEnded) stream.end();
    await new Promise<void>((resolve) => (res.writableFinished ? resolve() : res.once('finish', resolve).once('close', resolve)));
  });
}

/** The stream a streaming handler writes to: the runtime's ResponseStream, sent on to the client as it comes. */
class ResponseStream extends Writable {
  contentType = 'application/octet-stream';
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  private started = false;
  private prelude: Buffer | undefined = Buffer.alloc(0);

  constructor(private readonly res: ServerResponse) {
    super();
  }

  setContentType(type: string): void {
    if (this.started) throw new Error('Cannot set content-type, too late.');
    this.contentType = type;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.started) {
      this.started = true;
      this._onBeforeFirstWrite?.((c) => super.write(c));
    }
    return super.write(chunk, encoding as BufferEncoding, callback as () => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error) => void): void {
    let body = chunk;
    if (this.prelude !== undefined) {
      if (this.contentType !== PRELUDE_TYPE) {
        this.res.writeHead(200, { 'content-type': this.contentType });
      } else {
        const seen = Buffer.concat([this.prelude, chunk]);
        const end = seen.indexOf(Buffer.alloc(8));
        if (end < 0) {
          this.prelude = seen;
          return done();
        }
        const meta = JSON.parse(seen.subarray(0, end).toString('utf8')) as { statusCode?: number; headers?: Record<string, string>; cookies?: string[] };
        const headers: Record<string, string | string[]> = { ...meta.headers };
        if (meta.cookies?.length) headers['set-cookie'] = meta.cookies;
        this.res.writeHead(meta.statusCode ?? 200, headers);
        body = seen.subarray(end + 8);
      }
      this.prelude = undefined;
    }
    if (body.length === 0 || this.res.write(body)) return done();
    this.res.once('drain', () => done());
  }

  override _final(done: (err?: Error) => void): void {
    if (this.prelude !== undefined) this.res.writeHead(200, { 'content-type': this.contentType });
    this.res.end(() => done());
  }
}

/** The client's headers; Host becomes the API's own domain, as behind API Gateway. */
function requestHeaders(req: IncomingMessage): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(req.headersDistinct).flatMap(([k, v]) => (k === 'host' ? [] : [[k, v ?? []]])));
}

async function listen(serve: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>): Promise<LocalEndpoint> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      await serve(req, res, Buffer.concat(chunks));
    } catch (err) {
      // What API Gateway and function URLs answer when the function fails.
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error', error: String(err) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
