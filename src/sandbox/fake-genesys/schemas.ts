/**
 * The request models of genesys-open-messaging.md Appendix A (purecloud-platform-client-v2 `Models`) as strict
 * zod schemas. Deliberately stricter than the real service, which ignores unknown fields
 * (https://developer.genesys.cloud/forum/t/open-messaging-api-removing-inaccessible-fields/11021): anything the
 * bridge sends that the model does not declare is a bug here.
 */
import { z } from 'zod';
import type { GenesysReasonCode } from '../../core/errors.js';

// ---- inbound Open Messaging (bridge → Genesys) ----

const isoTime = z.iso.datetime({ message: 'should match format "date-time"' });
const idType = z.enum(['Email', 'Phone', 'Opaque']);
const recipient = {
  nickname: z.string().optional(),
  id: z.string().min(1),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  image: z.string().optional(),
  email: z.string().optional(),
};
const fromRecipient = z.strictObject({ ...recipient, idType });
const toRecipient = z.strictObject({ ...recipient, idType: idType.optional() });

/** `customAttributes` lives only here, string values only (key fact 10). */
const channelMetadata = z.strictObject({
  subType: z.string().optional(),
  customAttributes: z.record(z.string(), z.string()).optional(),
});

const attachment = z.strictObject({
  id: z.string().optional(),
  mediaType: z.enum(['Image', 'Video', 'Audio', 'File', 'Link']),
  url: z.url(),
  mime: z.string().min(1),
  text: z.string().optional(),
  sha256: z.string().optional(),
  filename: z.string().optional(),
});

/** Text or content, exactly as Genesys words it (key fact 5). */
const NO_TEXT_OR_CONTENT =
  "should have required property 'content', should have required property '.text', should match some schema in anyOf";

export const inboundMessage = z
  .strictObject({
    channel: z.strictObject({
      from: fromRecipient,
      time: isoTime,
      messageId: z.string().optional(),
      metadata: channelMetadata.optional(),
    }),
    text: z.string().optional(),
    // One attachment per message (key fact 6); items carry only `attachment` in the new schema.
    content: z.array(z.strictObject({ attachment })).max(1, 'should NOT have more than 1 items').optional(),
    // Top-level metadata is a string map, so `metadata.customAttributes` (an object) is a 400 (key fact 10).
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .refine((m) => Boolean(m.text) || (m.content?.length ?? 0) > 0, { message: NO_TEXT_OR_CONTENT });

/** A tap on an offered button (key fact 15, §2.4): the button and the id of the Genesys message that offered it. */
export const inboundStructuredResponse = z.strictObject({
  channel: z.strictObject({
    from: fromRecipient,
    time: isoTime,
    messageId: z.string().optional(),
    metadata: channelMetadata.optional(),
  }),
  buttonResponse: z.strictObject({
    id: z.string().optional(),
    type: z.enum(['Button', 'QuickReply', 'DatePicker']),
    text: z.string(),
    payload: z.string(),
  }),
  originatingMessageId: z.string().min(1),
});

export const inboundEvent = z.strictObject({
  channel: z.strictObject({ from: fromRecipient, time: isoTime }),
  events: z.array(z.strictObject({ eventType: z.enum(['Typing']) })).min(1),
});

/** The documented `ConversationReason.code` values (key fact 13); a typo here is a bug in the bridge. */
const reasonCode = z.enum([
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
] satisfies GenesysReasonCode[]);

/** Receipts: Delivered or Failed only (no Read); Failed needs reasons with a message (key facts 12–13). */
export const inboundReceipt = z
  .strictObject({
    id: z.string().min(1),
    channel: z.strictObject({ to: toRecipient, time: isoTime }),
    status: z.enum(['Delivered', 'Failed']),
    reasons: z.array(z.strictObject({ code: reasonCode.optional(), message: z.string().min(1) })).optional(),
    isFinalReceipt: z.boolean().optional(),
  })
  .refine((r) => r.status !== 'Failed' || (r.reasons?.length ?? 0) > 0, {
    message: "should have required property 'reasons' when status is Failed",
    path: ['reasons'],
  });

export const INBOUND_SCHEMAS = {
  message: inboundMessage,
  event: inboundEvent,
  receipt: inboundReceipt,
  'structured/response': inboundStructuredResponse,
} as const;
export type InboundEndpoint = keyof typeof INBOUND_SCHEMAS;

// ---- Open Messaging integration admin (genesys-open-messaging.md §4) ----

/** The signature secret must be longer than 15 characters (§4, https://github.com/MyPureCloud/platform-client-sdk-python). */
const signatureSecret = z.string().min(16, 'outboundNotificationWebhookSignatureSecretToken must be longer than 15 characters');
const reference = z.strictObject({ id: z.string().min(1), name: z.string().optional(), selfUri: z.string().optional() });
const integrationFields = {
  id: z.string().optional(),
  name: z.string().trim().min(1, 'name is required'),
  supportedContent: reference.optional(),
  messagingSetting: z.strictObject({ id: z.string().min(1) }).optional(),
  webhookHeaders: z.record(z.string(), z.string()).optional(),
  selfUri: z.string().optional(),
};

/** `OpenIntegrationRequest`: name, webhook URL and secret are required. */
export const openIntegrationRequest = z.strictObject({
  ...integrationFields,
  outboundNotificationWebhookUrl: z.url('outboundNotificationWebhookUrl must be a URL'),
  outboundNotificationWebhookSignatureSecretToken: signatureSecret,
});

/** `OpenIntegrationUpdateRequest`: `name` stays required, the rest is what changes. */
export const openIntegrationUpdateRequest = z.strictObject({
  ...integrationFields,
  outboundNotificationWebhookUrl: z.url('outboundNotificationWebhookUrl must be a URL').optional(),
  outboundNotificationWebhookSignatureSecretToken: signatureSecret.optional(),
});

/** `should have required property ...` style, with the JSON path of each violation. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      return issue.code === 'unrecognized_keys'
        ? `${where || '(root)'} should NOT have additional properties: ${issue.keys.join(', ')}`
        : where
          ? `${where} ${issue.message}`
          : issue.message;
    })
    .join(', ');
}
