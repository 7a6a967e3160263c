/**
 * What the TikTok event parsers share: the envelope's context of one event, the events' common fields, the dedupe
 * keys, the skips and small value helpers. Pure.
 */
import type { InboundEvent, ParseResult } from '../../core/events.js';
import { parseJsonLosslessly } from './json.js';

export const CHANNEL = 'tiktok';

/** What every content-carrying event needs from the envelope. */
export interface EventContext {
  event: string;
  businessId: string;
  /** `create_time` × 1000, for contents without their own `timestamp`. */
  envelopeMs: number | undefined;
}

export type DedupeKind = 'message' | 'reaction' | 'echo' | 'read' | 'referral' | 'eu_message' | 'comment' | 'mention';

export function customerBase(ctx: EventContext, customerId: string, key: string, timestamp: number) {
  return {
    channel: CHANNEL,
    kind: 'message',
    accountId: ctx.businessId,
    customerId,
    dedupeKey: key,
    timestamp,
  } as const;
}

/**
 * `tiktok:{business}:{kind}:{id}`. TikTok delivers at least once and retries for up to 72 h (key fact 21):
 * changing a format makes every stored key miss and forwards in-flight redeliveries twice.
 */
export function dedupeKey(ctx: EventContext, kind: DedupeKind, id: string): string {
  return `tiktok:${ctx.businessId}:${kind}:${id}`;
}

export function tryParseLosslessly(text: string): unknown {
  try {
    return parseJsonLosslessly(text);
  } catch {
    return undefined;
  }
}

export function skip(out: ParseResult, reason: string, detail?: string): void {
  out.skipped.push(detail === undefined ? { channel: CHANNEL, reason } : { channel: CHANNEL, reason, detail });
}

/** The URL when it is an absolute http(s) URL, as sent; anything else is not shown as a link. */
export function httpUrl(value: string | undefined): string | undefined {
  if (value === undefined || !URL.canParse(value)) return undefined;
  const { protocol } = new URL(value);
  return protocol === 'https:' || protocol === 'http:' ? value : undefined;
}

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Drops optional fields left undefined, so events compare and serialise cleanly (they are stored as JSON). */
export function withoutUndefined<T extends InboundEvent>(event: T): T {
  for (const key of Object.keys(event) as Array<keyof T>) if (event[key] === undefined) delete event[key];
  return event;
}

