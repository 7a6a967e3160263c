import { describe, expect, it } from 'vitest';
import { servableMediaType, servedMediaHeaders } from '../src/media/served-media.js';

describe('servableMediaType', () => {
  it('serves explicit raster image and video types, parameters and case aside', () => {
    expect(servableMediaType('image/jpeg')).toBe('image/jpeg');
    expect(servableMediaType('IMAGE/PNG; charset=binary')).toBe('image/png');
    expect(servableMediaType('video/mp4')).toBe('video/mp4');
  });

  it('never serves SVG, HTML, text, scripts, a wildcard or no type at all', () => {
    for (const type of ['image/svg+xml', 'text/html', 'application/xhtml+xml', 'text/plain', 'application/javascript', 'image/*', 'application/octet-stream', '', null, undefined]) {
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

  it('refuses a type it would not serve', () => {
    expect(() => servedMediaHeaders('image/svg+xml')).toThrow(TypeError);
  });
});
