import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutboundMessageCommand } from '../src/core/commands.js';
import { PlatformRefusal } from '../src/core/errors.js';
import { TTS_TEXT_LIMIT, buildTikTokShopSendSteps, imageBody, splitTikTokShopText, textBody } from '../src/channels/tiktok-shop/send.js';

function command(over: Partial<OutboundMessageCommand> = {}): OutboundMessageCommand {
  return { kind: 'message', genesysMessageId: 'g-1', integrationId: 'i', customerId: '7494560109732334262', timestamp: 0, originatingEntity: 'Human', attachments: [], ...over };
}

describe('buildTikTokShopSendSteps', () => {
  it('sends a text as TEXT whose content is a JSON string (the Send Message wire format)', () => {
    expect(buildTikTokShopSendSteps(command({ text: 'Your parcel ships today.' }))).toEqual([
      { kind: 'message', body: { type: 'TEXT', content: '{"content":"Your parcel ships today."}' } },
    ]);
    expect(JSON.stringify(textBody('Your parcel ships today.'))).toBe('{"type":"TEXT","content":"{\\"content\\":\\"Your parcel ships today.\\"}"}');
  });

  it('splits a long text into parts of at most 2,000 characters that join back to the original', () => {
    const text = `${'Thanks for waiting. '.repeat(150)}\n\n${'🙂'.repeat(800)}`;
    const steps = buildTikTokShopSendSteps(command({ text }));
    expect(steps.length).toBeGreaterThan(1);
    const parts = steps.map((s) => (s.kind === 'message' ? (JSON.parse(s.body.content) as { content: string }).content : ''));
    expect(parts.join('')).toBe(text);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(TTS_TEXT_LIMIT);
  });

  it('never cuts an emoji and never exceeds the limit, for any text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 3000 }), (text) => {
        const parts = splitTikTokShopText(text, 200);
        expect(parts.join('')).toBe(text);
        for (const part of parts) {
          expect(part.length).toBeLessThanOrEqual(200);
          // No lone surrogate: an emoji is never cut in half.
          expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(part)).toBe(false);
        }
      }),
    );
  });

  it('writes links into the text and quick replies as their readable fallback (no buttons in TikTok Shop chat)', () => {
    const steps = buildTikTokShopSendSteps(
      command({
        text: 'Pick one',
        quickReplies: [{ text: 'Track', payload: 'track' }],
        fallbackText: 'Pick one\n1. Track',
        attachments: [{ mediaType: 'Link', url: 'https://acme.example/faq' }],
      }),
    );
    expect(steps).toEqual([{ kind: 'message', body: textBody('Pick one\n1. Track\n\nhttps://acme.example/faq') }]);
  });

  it('uploads images (text first, then each image), accepting jpg, png, gif and webp', () => {
    const steps = buildTikTokShopSendSteps(
      command({
        text: 'Here it is',
        attachments: [
          { mediaType: 'Image', url: 'https://genesys.example/a.png', mime: 'image/png', filename: 'a.png' },
          { mediaType: 'Image', url: 'https://genesys.example/b', mime: 'image/webp' },
        ],
      }),
    );
    expect(steps).toEqual([
      { kind: 'message', body: textBody('Here it is') },
      { kind: 'image', url: 'https://genesys.example/a.png', mime: 'image/png', filename: 'a.png' },
      { kind: 'image', url: 'https://genesys.example/b', mime: 'image/webp' },
    ]);
    expect(imageBody({ url: 'https://p16/x', width: 1280, height: 720 })).toEqual({ type: 'IMAGE', content: '{"url":"https://p16/x","width":1280,"height":720}' });
  });

  it('refuses video, files, other image types and images over 10 MB before anything is sent, as the platform rules', () => {
    const refused = (attachments: OutboundMessageCommand['attachments']) => {
      try {
        buildTikTokShopSendSteps(command({ text: 'hi', attachments }));
      } catch (err) {
        expect(err).toBeInstanceOf(PlatformRefusal);
        return err as PlatformRefusal;
      }
      throw new Error('not refused');
    };
    expect(refused([{ mediaType: 'Video', url: 'https://g/v.mp4' }]).reason).toBe('MediaTypeNotAllowed');
    expect(refused([{ mediaType: 'File', url: 'https://g/f.pdf', filename: 'f.pdf' }]).message).toMatch(/cannot carry video, audio or files .*f\.pdf/);
    expect(refused([{ mediaType: 'Image', url: 'https://g/x.tiff', filename: 'x.tiff' }]).reason).toBe('MediaTypeNotAllowed');
    expect(refused([{ mediaType: 'Image', url: 'https://g/x.jpg', mime: 'image/jpeg', size: 11 * 1024 * 1024 }])).toMatchObject({ reason: 'InvalidMediaContentLength', message: expect.stringMatching(/11\.0 MB/) });
  });

  it('refuses a message with nothing to send', () => {
    expect(() => buildTikTokShopSendSteps(command({ text: '  ' }))).toThrow(PlatformRefusal);
  });
});
