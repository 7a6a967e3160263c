import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { GraphClient, type GraphClientOptions } from '../src/channels/instagram/graph-client.js';
import { buildInstagramSendRequests, buildTypingRequest, type GraphSendBody } from '../src/channels/instagram/send.js';
import type { InstagramConnection } from '../src/channels/instagram/config.js';
import type { OutboundMessageCommand } from '../src/core/commands.js';
import { PermanentError, RetryableError, type GenesysReasonCode } from '../src/core/errors.js';
import { createMetrics } from '../src/metrics.js';
import { graphFailure, startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { capturedLogger, instagramTestConnection, countedRequests, rejectionOf } from './helpers.js';

const TOKEN = 'IGQVJ-graph-client-token';
const ACCOUNT = '17841400000000042';
const CUSTOMER = '9900112233445566';
const NOW = Date.UTC(2026, 2, 3, 15, 30);

const graph: FakeGraph = await startFakeGraph({
  accessToken: TOKEN,
  accountId: ACCOUNT,
  apiVersion: 'v23.0',
  profiles: { [CUSTOMER]: { name: 'Jane Doe', username: 'jane.doe', profile_pic: 'https://example.test/jane.jpg' } },
});
afterAll(() => graph.close());

beforeEach(() => {
  graph.sends.length = 0;
  graph.setLatency(0);
  graph.setResponseHeaders({});
});

const connection = (over: Partial<InstagramConnection> = {}) => instagramTestConnection(graph.url, TOKEN, over);

function client(over: Partial<InstagramConnection> = {}, opts: Partial<GraphClientOptions> = {}) {
  const metrics = createMetrics();
  return { client: new GraphClient({ connection: connection(over), metrics, clock: () => NOW, ...opts }), metrics };
}

const text = (t: string): GraphSendBody => ({ recipient: { id: CUSTOMER }, messaging_type: 'RESPONSE', message: { text: t } });

describe('GraphClient.send', () => {
  it('posts the body as the account and returns the mid the fake Graph API answered', async () => {
    const { client: c, metrics } = client();
    const result = await c.send(text('Your order shipped.'));
    expect(graph.sends).toHaveLength(1);
    expect(graph.sends[0]).toMatchObject({ path: `/v23.0/${ACCOUNT}/messages`, body: text('Your order shipped.') });
    expect(result).toEqual({ messageId: graph.sends[0]!.messageId });
    expect(await countedRequests(metrics)).toEqual([{ target: 'instagram', operation: 'send', status: '200', value: 1 }]);
  });

  it('sends the typing indicator and returns no mid', async () => {
    expect(await client().client.send(buildTypingRequest(CUSTOMER))).toEqual({});
    expect(graph.sends[0]!.body).toEqual({ recipient: { id: CUSTOMER }, sender_action: 'typing_on' });
  });

  it('gets every body the builder makes accepted by the Graph API', async () => {
    const command: OutboundMessageCommand = {
      kind: 'message',
      genesysMessageId: 'g1',
      integrationId: 'i1',
      customerId: CUSTOMER,
      timestamp: NOW,
      originatingEntity: 'Human',
      text: `${'Ça roule 👩‍👩‍👧‍👦 '.repeat(80)}Which one?`,
      attachments: [
        { mediaType: 'Image', url: 'https://media.dmbridge.example/a.jpg' },
        { mediaType: 'File', url: 'https://media.dmbridge.example/b.pdf' },
      ],
      quickReplies: [{ text: 'This one', payload: 'ONE' }, { text: 'That one', payload: 'TWO' }],
      fallbackText: 'Which one? This one / That one',
    };
    const c = client().client;
    const bodies = buildInstagramSendRequests(command, { tag: 'HUMAN_AGENT', mediaUrl: (url) => url });
    for (const body of bodies) expect((await c.send(body)).messageId).toEqual(expect.any(String));
    expect(graph.sends.map((s) => s.body)).toEqual(bodies);
  });

  it('reports the pause Meta\'s usage headers ask for on a successful send', async () => {
    graph.setResponseHeaders({
      'x-business-use-case-usage': JSON.stringify({ [ACCOUNT]: [{ type: 'instagram', call_count: 96, total_cputime: 5, total_time: 5, estimated_time_to_regain_access: 0 }] }),
    });
    const result = await client().client.send(text('Hello'));
    expect(result).toEqual({ messageId: expect.any(String), pauseUntil: NOW + 60_000 });
  });

  const injected: Array<[string, ReturnType<typeof graphFailure>, 'retry' | 'permanent', GenesysReasonCode]> = [
    ['window closed 10/2534022', graphFailure(10, 2534022), 'permanent', 'MessageExpired'],
    ['blocked 551', graphFailure(551), 'permanent', 'RecipientOptedOut'],
    ['unavailable 200/1545041', graphFailure(200, 1545041), 'permanent', 'RecipientOptedOut'],
    ['no matching user 100/2534014', graphFailure(100, 2534014), 'permanent', 'InvalidDestination'],
    ['attachment too large 100/2018109', graphFailure(100, 2018109), 'permanent', 'InvalidMediaContentLength'],
    ['not thread owner 100/2534037', graphFailure(100, 2534037), 'permanent', 'MessageNotAllowed'],
    ['token 190/463', graphFailure(190, 463), 'permanent', 'GeneralError'],
    ['rate limit 4 over HTTP 429', graphFailure(4, undefined, { status: 429 }), 'retry', 'RateLimited'],
    ['rate limit 80002', graphFailure(80002), 'retry', 'RateLimited'],
    ['temporary 2', graphFailure(2, undefined, { isTransient: true }), 'retry', 'ServerError'],
    ['HTTP 500', graphFailure(1, undefined, { status: 500 }), 'retry', 'ServerError'],
  ];

  it.each(injected)('classifies %s', async (_name, injectedFailure, kind, reason) => {
    graph.failNext(1, injectedFailure);
    const { client: c, metrics } = client();
    const error = await rejectionOf(c.send(text('Hello')));
    expect(error).toBeInstanceOf(kind === 'retry' ? RetryableError : PermanentError);
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(`fbtrace_id ${(injectedFailure.body as { error: { fbtrace_id: string } }).error.fbtrace_id}`);
    expect(await countedRequests(metrics)).toEqual([{ target: 'instagram', operation: 'send', status: String(injectedFailure.status), value: 1 }]);
  });

  it('pauses the account for estimated_time_to_regain_access on a rate limit', async () => {
    const usage = JSON.stringify({ [ACCOUNT]: [{ type: 'instagram', call_count: 100, estimated_time_to_regain_access: 5 }] });
    graph.failNext(1, graphFailure(613, undefined, { headers: { 'x-business-use-case-usage': usage } }));
    const error = await rejectionOf(client().client.send(text('Hello')));
    expect(error).toMatchObject({ name: 'RetryableError', reason: 'RateLimited', pauseKey: `instagram:${ACCOUNT}`, retryAfterMs: 5 * 60_000 });
  });

  it('tells the agent when the window closed, when the caller says', async () => {
    graph.failNext(1, graphFailure(10, 2534022));
    const error = await rejectionOf(client().client.send(text('Hello'), { windowClosedAt: Date.UTC(2026, 2, 3, 14, 2) }));
    expect(error.message).toContain('closed at 14:02 UTC');
  });

  it('classifies the real 190 answered to a wrong token', async () => {
    const error = await rejectionOf(client({ accessToken: 'wrong' }).client.send(text('Hello')));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/access token.*\(Graph error 190, fbtrace_id \w+\)$/);
    expect(graph.sends).toEqual([]);
  });

  it('turns a timeout into a retryable ServerError', async () => {
    graph.setLatency(300);
    const { client: c, metrics } = client({}, { timeoutMs: 50 });
    const error = await rejectionOf(c.send(text('Hello')));
    expect(error).toMatchObject({ name: 'RetryableError', reason: 'ServerError' });
    expect(error.message).toContain('did not answer within 50 ms');
    expect(await countedRequests(metrics)).toEqual([{ target: 'instagram', operation: 'send', status: 'timeout', value: 1 }]);
  });

  it('turns a refused connection into a retryable ServerError', async () => {
    const { client: c, metrics } = client({ graphBaseUrl: 'http://127.0.0.1:9' });
    expect(await rejectionOf(c.send(text('Hello')))).toMatchObject({ name: 'RetryableError', reason: 'ServerError' });
    expect(await countedRequests(metrics)).toEqual([{ target: 'instagram', operation: 'send', status: 'network', value: 1 }]);
  });

  it('never logs the token or the message text, even at debug level', async () => {
    const captured = capturedLogger('debug');
    const c = client({}, { logger: captured.logger }).client;
    await c.send(text('my secret address is 1 Main St'));
    graph.failNext(1, graphFailure(100, 2534015));
    await rejectionOf(c.send(text('my secret address is 1 Main St')));
    const log = captured.text();
    expect(log).toContain('instagram.request_ok');
    expect(log).toContain('instagram.request_failed');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('1 Main St');
  });
});

describe('GraphClient.getProfile', () => {
  it('reads name, username and picture', async () => {
    const { client: c, metrics } = client();
    expect(await c.getProfile(CUSTOMER)).toEqual({ name: 'Jane Doe', username: 'jane.doe', pictureUrl: 'https://example.test/jane.jpg' });
    expect(await countedRequests(metrics)).toEqual([{ target: 'instagram', operation: 'profile', status: '200', value: 1 }]);
  });

  it('throws for an unknown customer', async () => {
    const error = await rejectionOf(client().client.getProfile('1234567890'));
    expect(error).toMatchObject({ name: 'PermanentError', reason: 'InvalidDestination' });
  });

  it('throws when Meta refuses the profile (no consent)', async () => {
    graph.failNext(1, graphFailure(230, undefined, { message: 'User consent is required to access user profile' }), 'profile');
    const error = await rejectionOf(client().client.getProfile(CUSTOMER));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('(Graph error 230, fbtrace_id');
  });

  it('gives up after its own short timeout', async () => {
    graph.setLatency(300);
    const error = await rejectionOf(client({}, { profileTimeoutMs: 50 }).client.getProfile(CUSTOMER));
    expect(error).toMatchObject({ name: 'RetryableError' });
  });
});
