/**
 * A proxy in front of the local SQS server that fails chosen SendMessageBatch entries the way SQS does: the
 * call succeeds, the entry comes back under `Failed` and is not queued; every other request passes unchanged.
 * It also counts the entries SQS took: every job ever enqueued through it.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

interface BatchEntry {
  Id: string;
  MessageBody: string;
}

export interface FaultySqs {
  endpoint: string;
  /** Entries whose body matches fail from now on. */
  failEntries(matches: (body: string) => boolean): void;
  /** SendMessageBatch entries SQS answered as successful. */
  accepted(): number;
  close(): Promise<void>;
}

export async function startFaultySqs(upstream: string): Promise<FaultySqs> {
  let failing: (body: string) => boolean = () => false;
  let accepted = 0;
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    let request = body;
    let failed: BatchEntry[] = [];
    if (target === 'AmazonSQS.SendMessageBatch') {
      const parsed = JSON.parse(body) as { Entries: BatchEntry[] };
      failed = parsed.Entries.filter((e) => failing(e.MessageBody));
      request = JSON.stringify({ ...parsed, Entries: parsed.Entries.filter((e) => !failing(e.MessageBody)) });
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'content-length' && name !== 'host')) as Record<string, string>;
    let status = 200;
    let answer: string;
    if (target === 'AmazonSQS.SendMessageBatch' && failed.length > 0 && (JSON.parse(request) as { Entries: unknown[] }).Entries.length === 0) {
      answer = JSON.stringify({ Successful: [], Failed: [] });
    } else {
      const forwarded = await fetch(`${upstream}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body: request });
      status = forwarded.status;
      answer = await forwarded.text();
    }
    if (target === 'AmazonSQS.SendMessageBatch' && status === 200) accepted += ((JSON.parse(answer) as { Successful?: unknown[] }).Successful ?? []).length;
    if (failed.length > 0 && status === 200) {
      const parsed = JSON.parse(answer) as { Successful?: unknown[]; Failed?: unknown[] };
      const injected = failed.map((e) => ({ Id: e.Id, Code: 'InternalError', Message: 'injected failure', SenderFault: false }));
      answer = JSON.stringify({ Successful: parsed.Successful ?? [], Failed: [...(parsed.Failed ?? []), ...injected] });
    }
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    failEntries(matches) {
      failing = matches;
    },
    accepted: () => accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
