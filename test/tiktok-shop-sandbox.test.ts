/**
 * The sandbox plays TikTok Shop end to end, as a user types it in another terminal against a running sandbox
 * (`npm start`): the buyer writes and sends an order card, the agent answers, the clock passes TikTok's 6-hour close
 * and the reply still goes out through the reopen path. Everything runs on local servers: the console, the bridge,
 * the fake Genesys and the fake TikTok Shop, which checks every signature like the real one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxCommand } from './sandbox-command.js';
import { runSandbox, type RunningSandbox } from '../src/entry/sandbox.js';
import { SANDBOX_BUYER, SANDBOX_ORDER } from '../src/channels/tiktok-shop/sandbox/index.js';
import { eventually, tempDir } from './helpers.js';

const dir = tempDir();
let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await runSandbox({ portBase: 0, store: `sqlite:${dir.path}/sandbox.db`, logLevel: 'silent', out: () => undefined, demo: false });
});
afterAll(async () => {
  await sandbox?.close();
  dir.cleanup();
});

const run = (...args: string[]) => sandboxCommand([...args, '--console', sandbox.consoleUrl]);
const platformCalls = () => sandbox.fakes.get('tiktok-shop')!.calls().filter((c) => c.direction === 'to-platform');

describe('dmbridge sandbox --tiktok-shop', () => {
  it('sends as the buyer: the signed webhook, and the text the agent receives from Jane', async () => {
    const sent = await run('send', '--tiktok-shop', 'Is the mug dishwasher safe?');
    expect(sent).toMatchObject({ code: 0, err: '' });
    expect(sent.out).toMatch(/^customer → bridge: .*: 200/);
    expect(sent.out).toContain('"text": "Is the mug dishwasher safe?"');
    expect(sent.out).toContain(`"firstName": "${SANDBOX_BUYER.nickname.split(' ')[0]}"`);
    expect(sent.out).toContain('"dmbridge.channel": "tiktok-shop"');
  });

  it('plays the order action: the order card with its id and Seller Center link, then the question', async () => {
    const played = await run('order', '--tiktok-shop');
    expect(played).toMatchObject({ code: 0, err: '' });
    expect(played.out).toContain(`📦 Order card: order ${SANDBOX_ORDER} — https://seller-uk.tiktok.com/order/detail?order_no=${SANDBOX_ORDER}&shop_region=GB`);
    expect(played.out).toContain(`"dmbridge.tiktokshop.orderId": "${SANDBOX_ORDER}"`);
    // The console prints the first of the action's messages; the question reaches the agent right after it.
    const texts = () => sandbox.genesys.messages.map((m) => (m.body as { text?: string }).text);
    expect(await eventually(() => texts().includes('Where is my order? It has not arrived yet.'))).toBe(true);
    expect(texts().slice(texts().findIndex((t) => t?.startsWith('📦 Order card')))).toEqual([expect.stringContaining(SANDBOX_ORDER), 'Where is my order? It has not arrived yet.']);
  });

  it('answers as the agent: the fake TikTok Shop accepts the signed send and the receipt is Delivered', async () => {
    const before = platformCalls().length;
    const replied = await run('reply', '--tiktok-shop', 'It arrives tomorrow.');
    expect(replied).toMatchObject({ code: 0, err: '' });
    expect(replied.out).toContain('"status": "Delivered"');
    const send = platformCalls().slice(before).find((c) => c.delivered);
    expect(send).toMatchObject({ answer: 'code 0', delivered: { text: 'It arrives tomorrow.' } });
  });

  it('past TikTok’s close (6 hours after the unanswered reply) the reply reopens the conversation and is Delivered', async () => {
    expect((await run('clock', '--past-window', '--tiktok-shop')).code).toBe(0);
    const before = platformCalls().length;
    const replied = await run('reply', '--tiktok-shop', 'Following up: it is out for delivery.');
    expect(replied).toMatchObject({ code: 0, err: '' });
    expect(replied.out).toContain('"status": "Delivered"');
    expect(platformCalls().slice(before).map((c) => `${c.request} ${c.answer}`)).toEqual([
      'GET /customer_service/202309/conversations code 0',
      'POST /customer_service/202309/conversations code 0',
      expect.stringMatching(/^POST \/customer_service\/202309\/conversations\/\d+\/messages\/read code 0$/),
      expect.stringMatching(/^POST \/customer_service\/202309\/conversations\/\d+\/messages code 0$/),
    ]);
  });
});
