/**
 * Agents' attachments at the fake Genesys, as the real one hands them (genesys-open-messaging.md key fact 23,
 * https://github.com/MyPureCloud/platform-client-sdk-javascript `getDownload`): `GET /api/v2/downloads/{id}` wants
 * a valid bearer token of this Genesys (401 otherwise) and answers with a 302 to a signed URL on a second origin,
 * a storage listener that refuses what S3 refuses: a request that carries an Authorization header besides the
 * signature (400 "Only one auth mechanism allowed",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html), and a signature that is wrong or
 * expired (403).
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { listenOnLoopback } from '../../net/loopback.js';
import { genesysError, type FakeContext } from './context.js';

export interface FakeAttachment {
  bytes: Uint8Array;
  mime: string;
  filename?: string;
  /** Sent without Content-Length (chunked), as a large file may be. */
  chunked?: boolean;
  /** The downloads endpoint redirects here instead of to its storage. */
  redirectTo?: string;
}

/** One request to the downloads endpoint or to the storage, with what it carried and what it was answered. */
export interface DownloadRequest {
  at: number;
  origin: 'downloads' | 'storage';
  path: string;
  /** The Authorization header as sent, if any. */
  authorization?: string;
  status: number;
}

/** Signed URLs live this long (S3's presigned URLs take an `X-Amz-Expires` of seconds to days). */
const SIGNED_URL_TTL_SEC = 300;

export class FakeDownloads {
  readonly requests: DownloadRequest[] = [];
  private readonly files = new Map<string, FakeAttachment>();
  private readonly key = randomBytes(32);
  storageUrl = '';

  constructor(private readonly downloadsUrl: () => string) {}

  /** Keeps a file as an agent's upload would; returns the download URL a notification carries. */
  host(file: FakeAttachment): string {
    const id = randomUUID();
    this.files.set(id, file);
    return `${this.downloadsUrl()}/api/v2/downloads/${id}`;
  }

  file(id: string): FakeAttachment | undefined {
    return this.files.get(id);
  }

  signedUrl(id: string, now: number): string {
    const expires = Math.floor(now / 1000) + SIGNED_URL_TTL_SEC;
    return `${this.storageUrl}/attachments/${id}?X-Amz-Expires=${expires}&X-Amz-Signature=${this.sign(id, expires)}`;
  }

  /** Why a storage request is refused (status and S3 error code), or undefined. */
  refusal(id: string, query: URLSearchParams, authorization: string | undefined, now: number): { status: number; code: string; message: string } | undefined {
    if (authorization !== undefined) {
      return {
        status: 400,
        code: 'InvalidArgument',
        message: 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      };
    }
    const expires = Number(query.get('X-Amz-Expires'));
    const given = Buffer.from(query.get('X-Amz-Signature') ?? '');
    const expected = Buffer.from(this.sign(id, expires));
    if (!Number.isInteger(expires) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' };
    }
    if (expires * 1000 < now) return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
    return undefined;
  }

  private sign(id: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${id}\n${expires}`).digest('hex');
  }
}

/** `GET /api/v2/downloads/{id}` on the fake Genesys. */
export function registerDownloads(app: Hono, ctx: FakeContext, downloads: FakeDownloads): void {
  app.get('/api/v2/downloads/:id', (c) => {
    const authorization = c.req.header('authorization');
    const answer = (status: number, response: Response) => {
      downloads.requests.push({ at: Date.now(), origin: 'downloads', path: c.req.path, ...(authorization !== undefined ? { authorization } : {}), status });
      return response;
    };
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
    const expiresAt = ctx.tokens.get(token);
    if (expiresAt === undefined || expiresAt <= Date.now()) return answer(401, genesysError(401, 'bad.credentials', 'Invalid login credentials.'));
    const id = c.req.param('id');
    const file = downloads.file(id);
    if (!file) return answer(404, genesysError(404, 'not.found', 'The requested download was not found.'));
    return answer(302, new Response(null, { status: 302, headers: { location: file.redirectTo ?? downloads.signedUrl(id, Date.now()) } }));
  });
}

/** The second origin: the storage the signed URLs point to. */
export async function startFakeStorage(downloads: FakeDownloads, port?: number): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  app.get('/attachments/:id', (c) => {
    const authorization = c.req.header('authorization');
    const id = c.req.param('id');
    const record = (status: number) =>
      downloads.requests.push({ at: Date.now(), origin: 'storage', path: c.req.path, ...(authorization !== undefined ? { authorization } : {}), status });
    const refusal = downloads.refusal(id, new URL(c.req.url).searchParams, authorization, Date.now());
    const file = downloads.file(id);
    if (refusal || !file) {
      const { status, code, message } = refusal ?? { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
      record(status);
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
      return new Response(xml, { status, headers: { 'content-type': 'application/xml' } });
    }
    record(200);
    const headers = new Headers({ 'content-type': file.mime });
    if (file.filename) headers.set('content-disposition', `attachment; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`);
    if (!file.chunked) headers.set('content-length', String(file.bytes.length));
    const body = file.chunked ? new Blob([new Uint8Array(file.bytes)]).stream() : new Uint8Array(file.bytes);
    return new Response(body, { status: 200, headers });
  });
  const { server, origin } = await listenOnLoopback(app, port);
  downloads.storageUrl = origin;
  return {
    url: origin,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
