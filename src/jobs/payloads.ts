/**
 * The shapes jobs carry, as schemas checked when a job is leased: the normalized events and commands of
 * src/core (each schema is typed against its core type, so the two cannot drift apart).
 */
import { z } from 'zod';
import type { OutboundCommand } from '../core/commands.js';
import type { GenesysReasonCode } from '../core/errors.js';
import type { InboundEcho, InboundMessage, InboundMessageUpdate, InboundRead } from '../core/events.js';

const text = z.string();
const mediaType = z.enum(['Image', 'Video', 'Audio', 'File', 'Link']);

const eventBase = {
  channel: text,
  accountId: text,
  customerId: text,
  dedupeKey: text,
  timestamp: z.number(),
  threadId: text.optional(),
};

export const inboundMessageSchema: z.ZodType<InboundMessage> = z.looseObject({
  ...eventBase,
  kind: z.literal('message'),
  subtype: text,
  messageId: text,
  text: text.optional(),
  attachment: z
    .looseObject({
      mediaType,
      url: text,
      reference: z.record(text, text).optional(),
      mime: text,
      filename: text.optional(),
    })
    .optional(),
  attributes: z.record(text, text),
  opensWindow: z.boolean(),
  refersTo: text.optional(),
  button: z.looseObject({ payload: text, text, inMessage: text.optional() }).optional(),
  label: text.optional(),
});

export const inboundEchoSchema: z.ZodType<InboundEcho> = z.looseObject({
  ...eventBase,
  kind: z.literal('echo'),
  messageId: text,
  text: text.optional(),
  source: text.optional(),
  description: text.optional(),
});

export const inboundReadSchema: z.ZodType<InboundRead> = z.looseObject({ ...eventBase, kind: z.literal('read'), messageId: text });

const { customerId: _noCustomer, ...updateBase } = eventBase;

export const inboundUpdateSchema: z.ZodType<InboundMessageUpdate> = z.looseObject({
  ...updateBase,
  kind: z.literal('update'),
  subtype: text,
  messageId: text,
  text: text.optional(),
  attributes: z.record(text, text),
  opensWindow: z.boolean(),
  refersTo: text,
  label: text.optional(),
});

const option = z.looseObject({ text, payload: text.optional(), url: text.optional() });

const commandBase = { genesysMessageId: text, integrationId: text, customerId: text, timestamp: z.number() };

export const outboundCommandSchema: z.ZodType<OutboundCommand> = z.discriminatedUnion('kind', [
  z.looseObject({
    ...commandBase,
    kind: z.literal('message'),
    originatingEntity: z.enum(['Human', 'Bot', 'Unknown']),
    text: text.optional(),
    attachments: z.array(
      z.looseObject({ mediaType, url: text, mime: text.optional(), filename: text.optional(), size: z.number().optional() }),
    ),
    quickReplies: z.array(option).optional(),
    cards: z
      .array(z.looseObject({ title: text, description: text.optional(), imageUrl: text.optional(), actions: z.array(option) }))
      .optional(),
    fallbackText: text.optional(),
  }),
  z.looseObject({ ...commandBase, kind: z.literal('typing') }),
]);

export const reasonCodeSchema: z.ZodType<GenesysReasonCode> = z.enum([
  'MessageExpired',
  'RateLimited',
  'MessageNotAllowed',
  'GeneralError',
  'UnsupportedMessage',
  'UnknownMessage',
  'InvalidMessageStructure',
  'InvalidDestination',
  'ServerError',
  'MediaTypeNotAllowed',
  'InvalidMediaContentLength',
  'RecipientOptedOut',
  'DataFiltered',
]);
