/**
 * The envelope TikTok's APIs wrap every answer in, the Business API and TikTok Shop's alike
 * (`{code, message, request_id, data}`; docs/protocols/tiktok-messaging.md and tiktok-shop.md), and how an agent's
 * Failed receipt quotes it. Shared by the two TikTok channels.
 */

/** The envelope with only well-typed fields kept. `data` may be null. */
export interface TikTokApiEnvelope {
  code?: number;
  message?: string;
  request_id?: string;
  data?: unknown;
}

/** The envelope of an answer (parsed JSON or its text); undefined when it is not one. */
export function tiktokApiEnvelopeOf(body: unknown): TikTokApiEnvelope | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const raw = parsed as Record<string, unknown>;
  const out: TikTokApiEnvelope = {};
  if (Number.isInteger(raw.code)) out.code = raw.code as number;
  // A code sent as a string of digits, short enough to stay exact as a number.
  else if (typeof raw.code === 'string' && /^\d{1,12}$/.test(raw.code)) out.code = Number(raw.code);
  if (typeof raw.message === 'string') out.message = raw.message;
  if (typeof raw.request_id === 'string') out.request_id = raw.request_id;
  if (raw.data !== undefined) out.data = raw.data;
  return out.code === undefined && out.request_id === undefined ? undefined : out;
}

/** `(TikTok error 40002, request_id 2026…)` with `platform` for "TikTok", or `(HTTP 503)` when there was no envelope. */
export function supportReference(platform: string, httpStatus: number, e: TikTokApiEnvelope | undefined): string {
  const id = e?.request_id ? `, request_id ${e.request_id}` : '';
  if (e?.code === undefined || (e.code === 0 && httpStatus >= 300)) return `(HTTP ${httpStatus}${id})`;
  return `(${platform} error ${e.code}${id})`;
}

const MAX_MESSAGE_CHARS = 300;

/** The envelope's message for a receipt, cut to a length an agent reads. */
export function envelopeMessage(e: TikTokApiEnvelope): string {
  const message = e.message?.trim() || 'no message';
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
}
