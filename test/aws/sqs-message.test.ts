/** The job ⇄ SQS message encoding (src/store/sqs/message.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJob, encodeJob, groupIdOf, jobIdOf } from '../../src/store/sqs/message.js';

const SQS_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 });

describe('the SQS job message', () => {
  it('decodes back to the job it encoded, for any text and any JSON payload, in an all-ASCII body', () => {
    fc.assert(
      fc.property(text, text, text, fc.jsonValue(), fc.integer({ min: 0, max: 2 ** 45 }), (dedupeKey, conversationKey, kind, payload, createdAt) => {
        const message = encodeJob({ dedupeKey, conversationKey, kind, payload }, createdAt);
        expect(message.body).toMatch(/^[\x20-\x7e]*$/);
        expect(decodeJob(message.body)).toEqual({
          ok: true,
          job: { id: jobIdOf(dedupeKey), dedupeKey, conversationKey, kind, payload: JSON.parse(JSON.stringify(payload)) as unknown, createdAt },
        });
      }),
    );
  });

  it('always gives a group id and a deduplication id SQS accepts', () => {
    fc.assert(
      fc.property(text, fc.string({ maxLength: 300 }), (dedupeKey, conversationKey) => {
        const message = encodeJob({ dedupeKey, conversationKey: `c${conversationKey}`, kind: 'test', payload: null }, 0);
        expect(message.groupId).toMatch(SQS_ID);
        expect(message.deduplicationId).toMatch(SQS_ID);
      }),
    );
  });

  it('keeps a conversation key SQS accepts readable as the group id, and hashes one it would refuse', () => {
    expect(groupIdOf('acme-instagram:17841400000000042')).toBe('acme-instagram:17841400000000042');
    expect(groupIdOf('reply:acme-tiktok:-000abc_DEF.ghi')).toBe('reply:acme-tiktok:-000abc_DEF.ghi');
    expect(groupIdOf('conn:ünïcode')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(groupIdOf(`conn:${'9'.repeat(124)}`)).toMatch(/^sha256:/);
    expect(groupIdOf('conn:a b')).not.toBe(groupIdOf('conn:a  b'));
  });

  it('says why a body is not a job instead of throwing', () => {
    expect(decodeJob('not json')).toEqual({ ok: false, error: 'the message body is not JSON' });
    expect(decodeJob('{"v":2,"id":"x"}')).toMatchObject({ ok: false, error: expect.stringMatching(/^the message body is not a dmbridge job/) });
    expect(decodeJob('null')).toMatchObject({ ok: false });
  });
});
