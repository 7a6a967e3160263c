/**
 * An inbound message made small enough for Genesys, for the one retry after Genesys refused it (400): its text cut
 * to `inboundTextMaxChars` with a note saying so, its custom attributes trimmed to `customAttributesMaxBytes`, the
 * bridge's own routing attributes kept first. Genesys publishes neither limit (genesys-open-messaging.md §2.1,
 * UNCONFIRMED), so both are configuration (./config.ts). Pure.
 */
import { splitText } from '../core/split-text.js';
import type { GenesysInboundMessage } from './translate.js';

export interface InboundLimits {
  inboundTextMaxChars: number;
  customAttributesMaxBytes: number;
}

/** What routing and the agent need most: kept whatever else goes. */
const ESSENTIAL = new Set([
  'dmbridge.channel', 'dmbridge.source', 'dmbridge.account', 'dmbridge.connection', 'dmbridge.subtype',
  'dmbridge.replyWindowEndsAt', 'dmbridge.replyWindowMinutesLeft', 'dmbridge.humanAgentWindowEndsAt',
  'dmbridge.fromBrand', 'dmbridge.note', 'dmbridge.replyable',
]);
const TRIMMED = 'dmbridge.attributesTrimmed';

/** The smaller message, or undefined when it is within both limits already (the 400 had another cause). */
export function fitInboundMessage(message: GenesysInboundMessage, limits: InboundLimits): GenesysInboundMessage | undefined {
  const text = message.text === undefined ? undefined : fitText(message.text, limits.inboundTextMaxChars);
  const attributes = fitAttributes(message.channel.metadata.customAttributes, limits.customAttributesMaxBytes);
  if (text === undefined && attributes === undefined) return undefined;
  return {
    ...message,
    ...(text !== undefined ? { text } : {}),
    channel: { ...message.channel, metadata: { ...message.channel.metadata, customAttributes: attributes ?? message.channel.metadata.customAttributes } },
  };
}

function fitText(text: string, max: number): string | undefined {
  if (text.length <= max) return undefined;
  const note = `\n\n[✂️ Shortened by dmbridge: the customer's message had ${[...text].length} characters, more than Genesys accepts. Read the rest on the platform.]`;
  const [head = ''] = splitText(text, { maxUtf16Units: Math.max(1, max - note.length) });
  return `${head.trimEnd()}${note}`;
}

function fitAttributes(attributes: Record<string, string>, maxBytes: number): Record<string, string> | undefined {
  const size = (a: Record<string, string>) => Buffer.byteLength(JSON.stringify(a), 'utf8');
  if (size(attributes) <= maxBytes) return undefined;
  const entries = Object.entries(attributes);
  const kept: Record<string, string> = Object.fromEntries(entries.filter(([k]) => ESSENTIAL.has(k)));
  let dropped = 0;
  for (const [key, value] of entries) {
    if (ESSENTIAL.has(key)) continue;
    const next = { ...kept, [key]: value, [TRIMMED]: String(dropped + 1) };
    if (size(next) <= maxBytes) kept[key] = value;
    else dropped++;
  }
  if (dropped > 0) kept[TRIMMED] = String(dropped);
  return kept;
}
