import { describe, expect, it } from 'vitest';
import { servableMediaType, servedMediaHeaders } from '../src/media/served-media.js';

describe('servableMediaType', () => {
  it('serves explicit raster image, video, audio and document types, parameters and case aside', () => {
    expect(servableMediaType('image/jpeg')).toBe('image/jpeg');
    expect(servableMediaType('IMAGE/PNG; charset=binary')).toBe('image/png');
    expect(servableMediaType('video/mp4')).toBe('video/mp4');
    // Voice notes and files: what customers send and agents attach besides pictures.
    for (const type of ['audio/mpeg', 'audio/mp4', 'audio/aac', 'audio/ogg', 'audio/wav', 'audio/webm', 'application/pdf', 'application/octet-stream']) {
      expect(servableMediaType(type), type).toBe(type);
    }
  });

  it('never serves SVG, HTML, text, scripts, a wildcard or no type at all', () => {
    for (const type of ['image/svg+xml', 'text/html', 'application/xhtml+xml', 'text/plain', 'application/javascript', 'image/*', 'audio/*', 'text/xml', 'application/xml', '', null, undefined]) {
      expect(servableMediaType(type), String(type)).toBeUndefined();
    }
  });
});

describe('servedMediaHeaders', () => {
  it('forbids sniffing, sandboxes the response and makes navigation download it', () => {
    const headers = servedMediaHeaders('image/png', 1234);
    expect(Object.fromEntries(headers)).toEqual({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
      'content-disposition': 'attachment; filename="media.png"',
      'cache-control': 'private, max-age=3600',
      'content-length': '1234',
    });
  });

  it('names an untyped file neutrally, so it downloads as data', () => {
    expect(servedMediaHeaders('application/octet-stream').get('content-disposition')).toBe('attachment; filename="media.bin"');
    expect(servedMediaHeaders('audio/aac').get('content-disposition')).toBe('attachment; filename="media.aac"');
  });

  it('refuses a type it would not serve', () => {
    expect(() => servedMediaHeaders('image/svg+xml')).toThrow(TypeError);
  });
});
