/**
 * The AWS requests one message costs on the AWS profile, counted: the ingress and worker functions (as the tests
 * run them, test/aws/aws-bridge.ts) over dynalite and fauxqs, with a counting proxy in front of each, for `n`
 * customer DMs (each into Genesys) and then `n` agent replies (each out to Instagram, with its receipt back).
 * The event source mapping's own requests are counted per batch: one ReceiveMessage and one DeleteMessageBatch.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { signMetaBody } from '../src/channels/instagram/verify.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { startLocalAwsBridge } from '../test/aws/aws-bridge.js';
import { startLocalAws } from '../test/aws/local-aws.js';
import { TEST, eventually, rawTestConfig } from '../test/helpers.js';

export interface RequestCounts {
  /** Per message: API Gateway requests, Lambda invocations by function, DynamoDB and SQS requests by operation. */
  apiGateway: number;
  invocations: { ingress: number; worker: number };
  dynamodb: Record<string, number>;
  sqs: Record<string, number>;
}

/** Forwards everything to `upstream`, counting requests by their X-Amz-Target operation. */
async function countingProxy(upstream: string) {
  const counts: Record<string, number> = {};
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop()!;
    counts[operation] = (counts[operation] ?? 0) + 1;
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
    const answer = await fetch(`${upstream}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/x-amz-json-1.0' });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take() {
      const taken = { ...counts };
      for (const k of Object.keys(counts)) delete counts[k];
      return taken;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const perMessage = (counts: Record<string, number>, n: number) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / n]));

export async function countRequests(n: number): Promise<{ inbound: RequestCounts; reply: RequestCounts }> {
  const local = await startLocalAws('dynalite');
  const dynamo = await countingProxy(local.dynamodb.endpoint);
  const sqsCounter = await countingProxy(local.sqs.endpoint);
  const genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  const graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId });
  const endpoints = { dynamodb: { ...local.dynamodb, endpoint: dynamo.url }, sqs: { endpoint: sqsCounter.url } };
  const bridge = await startLocalAwsBridge(endpoints, { raw: rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: 'aws' }) });
  try {
    const settled = () => eventually(() => bridge.drained(), 60_000, 50);
    const phase = async (run: () => Promise<void>): Promise<RequestCounts> => {
      dynamo.take();
      sqsCounter.take();
      const before = bridge.poller.invocations;
      await run();
      await settled();
      const batches = bridge.poller.invocations - before;
      // The poller's own receives (empty ones too) are the test's, not Lambda's: count Lambda's per batch instead.
      const sqs = sqsCounter.take();
      delete sqs.ReceiveMessage;
      delete sqs.DeleteMessageBatch;
      delete sqs.GetQueueAttributes;
      return {
        apiGateway: 1,
        invocations: { ingress: 1, worker: batches / n },
        dynamodb: perMessage(dynamo.take(), n),
        sqs: perMessage({ ...sqs, 'ReceiveMessage (event source mapping)': batches, 'DeleteMessageBatch (event source mapping)': batches }, n),
      };
    };
    const customers = Array.from({ length: n }, (_, i) => String(7_300_000 + i));
    const inbound = await phase(async () => {
      await Promise.all(
        customers.map(async (customer) => {
          const raw = JSON.stringify(instagramDmWebhook({ mid: fakeMid(), timestamp: Date.now(), text: 'Where is my order?', from: customer }, TEST.accountId));
          const res = await fetch(`${bridge.url}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, TEST.appSecret) }, body: raw });
          if (res.status !== 200) throw new Error(`the ingress answered ${res.status}`);
        }),
      );
    });
    const reply = await phase(async () => {
      await Promise.all(
        customers.map(async (customerId) => {
          const { body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId, text: 'It ships today.' });
          const { status } = await deliverOutbound(`${bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, TEST.webhookSecret);
          if (status !== 200) throw new Error(`the ingress answered ${status} to Genesys`);
        }),
      );
      await eventually(() => genesys.receipts.length >= n, 60_000, 50);
    });
    return { inbound, reply };
  } finally {
    await bridge.close();
    await Promise.all([genesys.close(), graph.close(), dynamo.close(), sqsCounter.close()]);
    await local.stop();
  }
}
