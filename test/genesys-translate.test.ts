import type { Models } from 'purecloud-platform-client-v2';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { InboundMessage, MediaType } from '../src/core/events.js';
import { InstagramModule } from '../src/channels/instagram/index.js';
import { TikTokModule } from '../src/channels/tiktok/index.js';
import { GenesysClient } from '../src/genesys/client.js';
import {
  buildGenesysInboundMessage,
  type GenesysInboundMessage,
} from '../src/genesys/translate.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { genesysTestConfig } from './helpers.js';

const CLIENT_ID = 'translate-test-client';
const CLIENT_SECRET = 'translate-test-secret-0123456789';
const INTEGRATION = 'c0ffee00-1111-4222-8333-944455566677';

const fake: FakeGenesys = await startFakeGenesys({
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  integrationIds: [INTEGRATION],
});
afterAll(() => fake.close());

const genesys = new GenesysClient({ config: genesysTestConfig(fake.url, CLIENT_ID, CLIENT_SECRET) });

function event(overrides: Partial<InboundMessage> = {}): InboundMessage {
  return {
    kind: 'message',
    channel: 'instagram',
    accountId: '17841400000000042',
    customerId: '9900112233445566',
    dedupeKey: 'instagram:17841400000000042:mid.1:message',
    timestamp: Date.UTC(2026, 2, 2, 9, 15, 30, 120),
    subtype: 'text',
    messageId: 'mid.1',
    text: 'Hi, where is my order?',
    attributes: {},
    opensWindow: true,
    ...overrides,
  };
}

const ctx = { connectionId: 'acme-instagram', source: InstagramModule.labels.source };

describe('buildGenesysInboundMessage', () => {
  it('produces a body assignable to the official OpenInboundNormalizedMessage model', () => {
    expectTypeOf<GenesysInboundMessage>().toExtend<Models.OpenInboundNormalizedMessage>();
    const official: Models.OpenInboundNormalizedMessage = buildGenesysInboundMessage(event(), ctx);
    expect(official.channel.from.idType).toBe('Opaque');
  });

  it('maps a text DM to channel.messageId, an opaque from.id, an ISO time with ms and the text', () => {
    const body = buildGenesysInboundMessage(event(), ctx);
    expect(body).toEqual({
      channel: {
        messageId: 'mid.1',
        from: { id: '9900112233445566', idType: 'Opaque' },
        time: '2026-03-02T09:15:30.120Z',
        metadata: {
          customAttributes: {
            'dmbridge.channel': 'instagram',
            'dmbridge.source': 'Instagram DM',
            'dmbridge.account': '17841400000000042',
            'dmbridge.connection': 'acme-instagram',
            'dmbridge.subtype': 'text',
          },
        },
      },
      text: 'Hi, where is my order?',
    });
  });

  it('fills nickname, first and last name and image from the profile', () => {
    const body = buildGenesysInboundMessage(event(), {
      ...ctx,
      profile: { name: 'Jane  Mary Doe', username: 'jane.doe', pictureUrl: 'https://cdn.example/jane.jpg' },
    });
    expect(body.channel.from).toEqual({
      id: '9900112233445566',
      idType: 'Opaque',
      nickname: 'jane.doe',
      firstName: 'Jane',
      lastName: 'Mary Doe',
      image: 'https://cdn.example/jane.jpg',
    });
  });

  it('uses the name as nickname when there is no username, and a single name as first name only', () => {
    const body = buildGenesysInboundMessage(event(), { ...ctx, profile: { name: 'Cher' } });
    expect(body.channel.from).toEqual({ id: '9900112233445566', idType: 'Opaque', nickname: 'Cher', firstName: 'Cher' });
  });

  it('sends an attachment as the single content item with mediaType, url, mime and filename', () => {
    const body = buildGenesysInboundMessage(
      event({
        subtype: 'image',
        text: undefined,
        attachment: { mediaType: 'Image', url: 'https://media.example/m/3b9e.jpg', mime: 'image/jpeg', filename: '3b9e.jpg' },
      }),
      ctx,
    );
    expect(body.text).toBeUndefined();
    expect(body.content).toEqual([
      { attachment: { mediaType: 'Image', url: 'https://media.example/m/3b9e.jpg', mime: 'image/jpeg', filename: '3b9e.jpg' } },
    ]);
  });

  it('keeps platform attributes, lets the dmbridge.* keys win, and labels TikTok as such', () => {
    const body = buildGenesysInboundMessage(
      event({ channel: 'tiktok', attributes: { 'referral.ref': 'summer', 'dmbridge.channel': 'spoofed' } }),
      { connectionId: 'acme-tiktok', source: TikTokModule.labels.source },
    );
    const attrs = body.channel.metadata.customAttributes;
    expect(attrs['referral.ref']).toBe('summer');
    expect(attrs['dmbridge.channel']).toBe('tiktok');
    expect(attrs['dmbridge.source']).toBe('TikTok DM');
    expect(attrs['dmbridge.connection']).toBe('acme-tiktok');
    expect(Object.values(attrs).every((v) => typeof v === 'string')).toBe(true);
  });

  it('substitutes a non-empty placeholder text when an event has neither text nor attachment', () => {
    const body = buildGenesysInboundMessage(event({ text: '', subtype: 'unsupported' }), ctx);
    expect(body.text).toBe('[Instagram DM: unsupported without text or media]');
    expect(body.content).toBeUndefined();
  });
});

describe('translated bodies are accepted by the fake Genesys', () => {
  it('accepts a text message', async () => {
    await expect(genesys.sendInboundMessage(INTEGRATION, buildGenesysInboundMessage(event(), ctx))).resolves.toHaveProperty('id');
  });

  const media: Array<[MediaType, string, string]> = [
    ['Image', 'image/jpeg', 'photo.jpg'],
    ['Video', 'video/mp4', 'clip.mp4'],
    ['Audio', 'audio/mp4', 'voice.m4a'],
    ['File', 'application/pdf', 'invoice.pdf'],
    ['Link', 'text/html', 'post'],
  ];
  it.each(media)('accepts an %s attachment', async (mediaType, mime, filename) => {
    const body = buildGenesysInboundMessage(
      event({ subtype: mediaType.toLowerCase(), text: undefined, attachment: { mediaType, mime, filename, url: `https://media.example/${filename}` } }),
      ctx,
    );
    const result = await genesys.sendInboundMessage(INTEGRATION, body);
    expect(result.content?.[0]?.attachment?.mediaType).toBe(mediaType);
  });

  it('accepts a story mention flattened to text plus the story attachment', async () => {
    const body = buildGenesysInboundMessage(
      event({
        subtype: 'story_mention',
        text: 'Mentioned you in their story',
        attachment: { mediaType: 'Image', url: 'https://media.example/story/17890.jpg', mime: 'image/jpeg' },
        attributes: { 'instagram.story_url': 'https://media.example/story/17890.jpg' },
      }),
      ctx,
    );
    await expect(genesys.sendInboundMessage(INTEGRATION, body)).resolves.toHaveProperty('id');
  });

  it('accepts a message with a full customer profile', async () => {
    const body = buildGenesysInboundMessage(event(), {
      ...ctx,
      profile: { name: 'Jane Doe', username: 'jane.doe', pictureUrl: 'https://cdn.example/jane.jpg' },
    });
    const result = await genesys.sendInboundMessage(INTEGRATION, body);
    expect(result.channel?.from.nickname).toBe('jane.doe');
  });

  it('accepts the placeholder message', async () => {
    const body = buildGenesysInboundMessage(event({ text: undefined, subtype: 'unsupported' }), ctx);
    await expect(genesys.sendInboundMessage(INTEGRATION, body)).resolves.toHaveProperty('id');
  });
});
