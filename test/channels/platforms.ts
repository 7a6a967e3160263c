/** The platform sides of the registered channels, for the channel contract suite (./contract.ts). */
import { InstagramModule } from '../../src/channels/instagram/index.js';
import { startFakeGraph } from '../../src/channels/instagram/sandbox/fake-graph.js';
import { signMetaBody } from '../../src/channels/instagram/verify.js';
import { TikTokModule } from '../../src/channels/tiktok/index.js';
import { startFakeTikTok } from '../../src/channels/tiktok/sandbox/fake-tiktok.js';
import { signTikTokBody } from '../../src/channels/tiktok/verify.js';
import { TikTokShopModule } from '../../src/channels/tiktok-shop/index.js';
import { startFakeTikTokShop } from '../../src/channels/tiktok-shop/sandbox/fake-tiktok-shop.js';
import { signTikTokShopWebhook } from '../../src/channels/tiktok-shop/verify.js';
import type { ChannelUnderTest } from './contract.js';

const IG = { accountId: '17841400000000077', appSecret: 'contract-meta-app-secret', accessToken: 'IGQVJ-contract-token' };

export const instagramUnderTest: ChannelUnderTest = {
  channel: InstagramModule,
  async start() {
    const graph = await startFakeGraph({ accessToken: IG.accessToken, accountId: IG.accountId });
    const entry = (accountId: string, item: Record<string, unknown>) => ({
      object: 'instagram',
      entry: [{ id: accountId, time: Date.now(), messaging: [{ timestamp: Date.now(), ...item }] }],
    });
    return {
      connection: (id, genesys) => ({
        id,
        channel: 'instagram',
        accountId: IG.accountId,
        appSecret: IG.appSecret,
        verifyToken: 'contract-verify-token',
        accessToken: IG.accessToken,
        graphBaseUrl: graph.url,
        genesys,
      }),
      sign: (raw) => ({ 'x-hub-signature-256': signMetaBody(raw, IG.appSecret) }),
      customerMessage: (m) =>
        entry(m.accountId ?? IG.accountId, { sender: { id: m.customerId }, recipient: { id: m.accountId ?? IG.accountId }, message: { mid: m.messageId, text: m.text } }),
      echo: (m) =>
        entry(IG.accountId, { sender: { id: IG.accountId }, recipient: { id: m.customerId }, message: { mid: m.messageId, is_echo: true, text: m.text } }),
      unknownKind: () => entry(IG.accountId, { sender: { id: '1' }, recipient: { id: IG.accountId }, poll_vote: { option: 2 } }),
      sent: () =>
        graph.sends.flatMap((s) => {
          const text = (s.body as { message?: { text?: string } }).message?.text;
          return s.messageId && text !== undefined ? [{ messageId: s.messageId, text }] : [];
        }),
      close: () => graph.close(),
    };
  },
};

const TT = { appId: '7600000000000000077', appSecret: 'contract-tiktok-app-secret', businessId: '-000aBcDcontract', accessToken: 'act.contract', refreshToken: 'rft.contract' };

export const tiktokUnderTest: ChannelUnderTest = {
  channel: TikTokModule,
  async start() {
    const tiktok = await startFakeTikTok({ ...TT });
    const envelope = (event: string, content: unknown, businessId = TT.businessId) => ({
      client_key: TT.appId,
      event,
      create_time: Math.floor(Date.now() / 1000),
      user_openid: businessId,
      content: JSON.stringify(content),
    });
    /** One conversation per customer, known to the fake so that replies to it are accepted. */
    const conversationOf = (customerId: string) => {
      const id = `conv-${customerId}==`;
      tiktok.addConversation(id);
      return id;
    };
    return {
      connection: (id, genesys) => ({ id, channel: 'tiktok', ...TT, apiBaseUrl: tiktok.url, genesys }),
      sign: (raw) => ({ 'tiktok-signature': signTikTokBody(raw, TT.appSecret, Math.floor(Date.now() / 1000)) }),
      customerMessage: (m) => {
        const businessId = m.accountId ?? TT.businessId;
        return envelope(
          'im_receive_msg',
          {
            from: m.customerId,
            to: 'acme_store',
            from_user: { id: m.customerId, role: 'personal_account' },
            to_user: { id: businessId, role: 'business_account' },
            conversation_id: conversationOf(m.customerId),
            message_id: m.messageId,
            timestamp: Date.now(),
            type: 'text',
            text: { body: m.text },
            message_tag: { source: 'APP' },
          },
          businessId,
        );
      },
      echo: (m) =>
        envelope('im_send_msg', {
          from: 'acme_store',
          to: m.customerId,
          from_user: { id: TT.businessId, role: 'business_account' },
          to_user: { id: m.customerId, role: 'personal_account' },
          conversation_id: conversationOf(m.customerId),
          message_id: m.messageId,
          timestamp: Date.now(),
          type: 'text',
          text: { body: m.text },
          message_tag: { source: 'API' },
        }),
      unknownKind: () => envelope('im_future_event_kind', { something: 'new' }),
      sent: () =>
        tiktok.sends.flatMap((s) => {
          const text = (s.body as { text?: { body?: string } }).text?.body;
          return s.messageId && text !== undefined ? [{ messageId: s.messageId, text }] : [];
        }),
      close: () => tiktok.close(),
    };
  },
};

const SHOP = {
  shopId: '7494049642642449999',
  appKey: '68contractshop',
  appSecret: 'contract-tiktok-shop-app-secret',
  shopCipher: 'ROW_ContractCipherAAAA0001',
  accessToken: 'TTP_contract_access_token',
  refreshToken: 'TTP_contract_refresh_token',
};

export const tiktokShopUnderTest: ChannelUnderTest = {
  channel: TikTokShopModule,
  async start() {
    const fake = await startFakeTikTokShop({ ...SHOP });
    let id = 7600000000000000000n;
    const nextId = () => String(++id);
    /** A type 14 notification; the customer id is the buyer's conversation with the shop (parse.ts). */
    const message = (m: { messageId: string; customerId: string; text: string }, role: string, shopId = SHOP.shopId) => ({
      type: 14,
      tts_notification_id: nextId(),
      shop_id: shopId,
      timestamp: Math.floor(Date.now() / 1000),
      data: {
        conversation_id: m.customerId,
        message_id: m.messageId,
        index: nextId(),
        type: 'TEXT',
        content: JSON.stringify({ content: m.text }),
        create_time: Math.floor(Date.now() / 1000),
        is_visible: true,
        sender: { im_user_id: role === 'BUYER' ? `${m.customerId}01` : '7494560109732330003', role },
      },
    });
    return {
      connection: (connectionId, genesys) => ({
        id: connectionId,
        channel: 'tiktok-shop',
        shopId: SHOP.shopId,
        appKey: SHOP.appKey,
        appSecret: SHOP.appSecret,
        accessToken: SHOP.accessToken,
        refreshToken: SHOP.refreshToken,
        apiBaseUrl: fake.url,
        authBaseUrl: fake.url,
        genesys,
      }),
      sign: (raw) => ({ authorization: signTikTokShopWebhook(raw, SHOP) }),
      customerMessage: (m) => {
        fake.addConversation({ id: m.customerId, buyer: { imUserId: `${m.customerId}01`, userId: `${m.customerId}02`, nickname: 'Buyer' } });
        return message(m, 'BUYER', m.accountId);
      },
      echo: (m) => message(m, 'CUSTOMER_SERVICE'),
      unknownKind: () => ({ type: 99, tts_notification_id: nextId(), shop_id: SHOP.shopId, timestamp: Math.floor(Date.now() / 1000), data: { something: 'new' } }),
      sent: () =>
        fake.sends.flatMap((s) => {
          const content = JSON.parse(s.body.content) as { content?: string };
          return s.body.type === 'TEXT' && content.content !== undefined ? [{ messageId: s.messageId, text: content.content }] : [];
        }),
      close: () => fake.close(),
    };
  },
};
