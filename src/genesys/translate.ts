/**
 * Normalized inbound events → Genesys Open Messaging inbound bodies (genesys-open-messaging.md §2, §5).
 * Pure: no I/O, no clock. Types come from the official SDK models so a model change fails to compile.
 */
import type { Models } from 'purecloud-platform-client-v2';
import type { CustomerProfile, InboundMessage } from '../core/events.js';

/**
 * `channel.metadata` as the API accepts it: the SDK's declared fields plus `customAttributes`, a string map
 * that becomes participant data. The API accepts it but the SDK model does not declare it (key fact 10,
 * https://developer.genesys.cloud/forum/t/set-participant-data-in-open-inbound-message/26014).
 * `extends` fails to compile if the SDK ever declares `customAttributes` with another type.
 */
export interface GenesysChannelMetadata extends Models.ConversationChannelMetadata {
  customAttributes: Record<string, string>;
}

export interface GenesysInboundChannel extends Models.OpenInboundMessageMessagingChannel {
  // The indexed access stops compiling if the SDK drops or renames `channel.metadata`.
  metadata: GenesysChannelMetadata & NonNullable<Models.OpenInboundMessageMessagingChannel['metadata']>;
}

/** `OpenInboundNormalizedMessage` with `channel.metadata.customAttributes`; assignable to the SDK model. */
export interface GenesysInboundMessage extends Models.OpenInboundNormalizedMessage {
  channel: GenesysInboundChannel;
}

/**
 * One inbound message. `from.idType` is `Opaque` because platform user ids are neither e-mail nor phone
 * (key fact 4); `time` is ISO-8601 UTC with milliseconds (§5); one attachment at most (key fact 6).
 */
export interface TranslationContext {
  connectionId: string;
  /** What the agent and Architect read as the source: the channel module's `labels.source`. */
  source: string;
  profile?: CustomerProfile;
}

export function buildGenesysInboundMessage(event: InboundMessage, ctx: TranslationContext): GenesysInboundMessage {
  const message: GenesysInboundMessage = { channel: buildChannel(event, ctx) };
  if (event.text) message.text = event.text;
  if (event.attachment) {
    const { mediaType, url, mime, filename } = event.attachment;
    message.content = [{ attachment: { mediaType, url, mime, ...(filename ? { filename } : {}) } }];
  }
  // Genesys answers 400 when a message has neither `text` nor `content` (key fact 5,
  // https://community.genesys.com/discussion/send-an-inbound-structured-open-response-message).
  if (!message.text && !message.content) {
    message.text = `[${event.label ?? ctx.source}: ${event.subtype} without text or media]`;
  }
  return message;
}

/** `OpenInboundStructuredResponseMessage` with `channel.metadata.customAttributes`; assignable to the SDK model. */
export interface GenesysStructuredResponse extends Models.OpenInboundStructuredResponseMessage {
  channel: GenesysInboundChannel;
}

/**
 * A tap on a quick reply or card button that a Genesys bot or agent sent: the button (`QuickReply` or `Button`, its
 * text and payload) and the id of the Genesys message that offered it, so a bot flow receives the button rather
 * than text (genesys-open-messaging.md key fact 15, §2.4).
 */
export function buildGenesysStructuredResponse(
  event: InboundMessage & { button: NonNullable<InboundMessage['button']> },
  answers: { originatingMessageId: string; type: 'QuickReply' | 'Button'; payload: string },
  ctx: TranslationContext,
): GenesysStructuredResponse {
  return {
    channel: buildChannel(event, ctx),
    buttonResponse: { type: answers.type, text: event.button.text, payload: answers.payload },
    originatingMessageId: answers.originatingMessageId,
  };
}

function buildChannel(event: InboundMessage, ctx: TranslationContext): GenesysInboundChannel {
  return {
    messageId: event.messageId,
    from: buildFrom(event.customerId, ctx.profile),
    time: new Date(event.timestamp).toISOString(),
    metadata: {
      customAttributes: {
        ...event.attributes,
        'dmbridge.channel': event.channel,
        'dmbridge.source': event.label ?? ctx.source,
        'dmbridge.account': event.accountId,
        'dmbridge.connection': ctx.connectionId,
        'dmbridge.subtype': event.subtype,
      },
    },
  };
}

function buildFrom(customerId: string, profile: CustomerProfile | undefined): Models.OpenMessagingFromRecipient {
  const from: Models.OpenMessagingFromRecipient = { id: customerId, idType: 'Opaque' };
  const name = profile?.name?.trim();
  const nickname = profile?.username?.trim() || name;
  if (nickname) from.nickname = nickname;
  if (name) {
    const [first, ...rest] = name.split(/\s+/);
    from.firstName = first;
    if (rest.length > 0) from.lastName = rest.join(' ');
  }
  if (profile?.pictureUrl) from.image = profile.pictureUrl;
  return from;
}
