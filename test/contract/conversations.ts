/** The Conversations role (src/core/store.ts): reply windows, counts, thread ids. */
import { describe, expect, it } from 'vitest';
import type { Conversations, Maintenance } from '../../src/core/store.js';
import { freshStorePerTest, START, type MakeStore } from './harness.js';

export function conversationsContract(makeStore: MakeStore<Conversations & Pick<Maintenance, 'close'>>): void {
  describe('conversation state', () => {
    const t = freshStorePerTest(makeStore);

    it('remembers when the customer last wrote, and never moves it backwards for a late webhook', async () => {
      const { store } = t;
      expect(await store.getConversation('conn:u1')).toEqual({});
      await store.recordCustomerMessage('conn:u1', START + 5000);
      await store.recordCustomerMessage('conn:u1', START + 1000);
      expect(await store.getConversation('conn:u1')).toMatchObject({ lastInboundAt: START + 5000, customerMessages: 2 });
      await store.recordCustomerMessage('conn:u1', START + 9000);
      expect(await store.getConversation('conn:u1')).toMatchObject({ lastInboundAt: START + 9000, customerMessages: 3 });
      expect(await store.getConversation('conn:u2')).toEqual({});
    });

    it('counts replies since the customer last wrote, and starts again when they write', async () => {
      const { store } = t;
      await store.recordCustomerMessage('conn:u1', START);
      await store.recordReplySent('conn:u1');
      await store.recordReplySent('conn:u1');
      expect(await store.getConversation('conn:u1')).toMatchObject({ repliesSinceCustomer: 2 });
      await store.recordCustomerMessage('conn:u1', START - 1000); // a late webhook of an older message
      expect(await store.getConversation('conn:u1')).toMatchObject({ repliesSinceCustomer: 2 });
      await store.recordCustomerMessage('conn:u1', START + 1000);
      expect(await store.getConversation('conn:u1')).toMatchObject({ repliesSinceCustomer: 0, customerMessages: 3 });
    });

    it("keeps the platform's conversation id of the newest customer message", async () => {
      const { store } = t;
      await store.recordCustomerMessage('conn:u1', START, 'thread-A');
      await store.recordCustomerMessage('conn:u1', START - 1000, 'thread-old');
      expect(await store.getConversation('conn:u1')).toMatchObject({ threadId: 'thread-A' });
      await store.recordCustomerMessage('conn:u1', START + 1000);
      expect(await store.getConversation('conn:u1')).toMatchObject({ threadId: 'thread-A' });
      await store.recordCustomerMessage('conn:u1', START + 2000, 'thread-B');
      expect(await store.getConversation('conn:u1')).toMatchObject({ threadId: 'thread-B' });
    });
  });
}
