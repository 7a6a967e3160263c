/** The fake TikTok API's wire helpers: the `{code, message, request_id, data}` envelope and request bodies. */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';

/** The envelope, always HTTP 200 unless said (key fact 6). */
export function envelope(code: number, message: string, data: unknown = {}, status = 200): Response {
  const body = { code, message, request_id: freshRequestId(), data };
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text()) as unknown;
  } catch {
    return undefined;
  }
}

/** `YYYYMMDDhhmmss` + hex, like TikTok's request ids. */
function freshRequestId(): string {
  return `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}${randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
