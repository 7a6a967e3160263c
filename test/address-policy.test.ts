import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forbiddenAddressReason } from '../src/net/address-policy.js';
import { originVerdict, parseAllowedOrigins } from '../src/net/allowed-origins.js';

describe('forbiddenAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'unique local (private)'],
    ['169.254.169.254', 'cloud metadata'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['169.254.10.10', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'shared address space (CGNAT)'],
    ['100.100.100.200', 'shared address space (CGNAT)'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback (inside an IPv6 address)'],
    ['::ffff:7f00:1', 'loopback (inside an IPv6 address)'],
    ['::ffff:169.254.169.254', 'cloud metadata (inside an IPv6 address)'],
    ['::127.0.0.1', 'loopback (inside an IPv6 address)'],
    ['64:ff9b::10.0.0.1', 'private (inside an IPv6 address)'],
    ['64:ff9b::7f00:1', 'loopback (inside an IPv6 address)'],
    ['2002:a9fe:a9fe::1', 'cloud metadata (inside an IPv6 address)'],
    ['localhost', 'not an IP address'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(forbiddenAddressReason(address)).toBe(reason);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a03:2880:f12f:83:face:b00c:0:25de', '64:ff9b::8.8.8.8', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(forbiddenAddressReason(address)).toBeUndefined();
    },
  );

  it('judges every IPv4 address alike in its IPv4-mapped, NAT64 and 6to4 forms (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const forbidden = forbiddenAddressReason(ip) !== undefined;
        const [p, q, r, s] = ip.split('.').map(Number) as [number, number, number, number];
        const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
        for (const form of [`::ffff:${ip}`, `64:ff9b::${ip}`, `2002:${hex(p, q)}:${hex(r, s)}::1`]) {
          expect(forbiddenAddressReason(form) !== undefined, form).toBe(forbidden);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('allowed origins', () => {
  const operator = parseAllowedOrigins(['http://127.0.0.1:9300', 'https://media.example.com', 'api-downloads.mypurecloud.ie', '.fbcdn.net']);
  const none = parseAllowedOrigins([]);
  const verdict = (url: string, perUse = none) => originVerdict(new URL(url), operator, perUse);

  it('matches an exact origin on its scheme, host and port only, and trusts it without an address check', () => {
    expect(verdict('http://127.0.0.1:9300/media/1')).toBe('listed-origin');
    expect(verdict('https://media.example.com/a.jpg')).toBe('listed-origin');
    expect(verdict('http://127.0.0.1:9301/media/1')).toBe('not-allowed');
    expect(verdict('https://127.0.0.1:9300/media/1')).toBe('not-allowed');
    expect(verdict('http://media.example.com/a.jpg')).toBe('not-allowed');
    expect(verdict('http://[::ffff:127.0.0.1]:9300/media/1')).toBe('not-allowed');
  });

  it('matches hosts and suffixes over HTTPS on port 443 only, their addresses to be checked', () => {
    expect(verdict('https://api-downloads.mypurecloud.ie/api/v2/downloads/x')).toBe('listed-host');
    expect(verdict('https://scontent.xx.fbcdn.net/v/t1.jpg')).toBe('listed-host');
    expect(verdict('https://fbcdn.net/x')).toBe('not-allowed');
    expect(verdict('https://evilfbcdn.net/x')).toBe('not-allowed');
    expect(verdict('http://scontent.xx.fbcdn.net/v/t1.jpg')).toBe('not-allowed');
    expect(verdict('https://scontent.xx.fbcdn.net:8443/v/t1.jpg')).toBe('not-allowed');
    expect(verdict('https://user:pw@scontent.xx.fbcdn.net/x')).toBe('not-allowed');
    expect(verdict('https://p16-sign.tiktokcdn.com/x', parseAllowedOrigins(['.tiktokcdn.com']))).toBe('listed-host');
  });

  it('refuses entries that are neither an origin, a host nor a suffix, naming them', () => {
    for (const entry of ['https://media.example.com/path', 'https://u:p@media.example.com', 'ftp://media.example.com', '10.0.0.1', '.', 'no spaces.com', '*.example.com']) {
      expect(() => parseAllowedOrigins([entry]), entry).toThrow(entry);
    }
  });
});
