/**
 * What every Instagram item parser shares: who sent one messaging item to whom and when, the events' common fields,
 * the dedupe keys, the skips, and the small text helpers. Pure.
 */
import type { ParseResult } from '../../core/events.js';

export const CHANNEL = 'instagram';

/** Who sent one messaging item to whom, and when. */
export interface ItemContext {
  accountId: string;
  senderId: string;
  recipientId: string;
  timestamp: number;
}

export type DedupeKind = 'message' | 'deleted' | 'echo' | 'edit' | 'reaction' | 'read' | 'postback' | 'referral';

export function customerBase(ctx: ItemContext, key: string) {
  return {
    channel: CHANNEL,
    kind: 'message',
    accountId: ctx.accountId,
    customerId: ctx.senderId,
    dedupeKey: key,
    timestamp: ctx.timestamp,
  } as const;
}

/** Idempotency key `(account, kind, mid)`: retries and double subscriptions repeat events. */
export function dedupeKey(accountId: string, kind: DedupeKind, id: string): string {
  return `instagram:${accountId}:${kind}:${id}`;
}

export function skip(out: ParseResult, reason: string, detail?: string): void {
  out.skipped.push(detail === undefined ? { channel: CHANNEL, reason } : { channel: CHANNEL, reason, detail });
}

/** Key names of a messaging item other than the envelope, e.g. `"poll_vote"`; for logs of unknown kinds. */
export function eventKeysOf(item: unknown): string {
  return keysExcept(item, ['sender', 'recipient', 'timestamp']);
}

export function keysExcept(value: unknown, envelope: readonly string[]): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `(${typeof value})`;
  const keys = Object.keys(value).filter((k) => !envelope.includes(k));
  return keys.length > 0 ? keys.join(',') : '(none)';
}

/** "label: a b", or just "label" when no value is present. */
export function labelled(label: string, ...values: Array<string | undefined>): string {
  const present = values.filter((v) => v !== undefined && v !== '');
  return present.length > 0 ? `${label}: ${present.join(' ')}` : label;
}

export function joinLines(...lines: Array<string | undefined>): string | undefined {
  const present = lines.filter((l) => l !== undefined && l !== '');
  return present.length > 0 ? present.join('\n') : undefined;
}

export function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}
