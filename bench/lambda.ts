/**
 * Size, cold start and cost per message of the AWS Lambda functions.
 *
 *   npm run bench:lambda [-- --runs 10 --messages 50]
 *
 * Bundles each function exactly as the CDK app does (deploy/aws/bundle.ts), reports its size and its largest
 * parts, then makes `runs` cold starts of each (bench/lambda-cold-start.ts): a fresh Node process imports the
 * bundle, whose init reads the configuration (docs/deploying.md's AWS example) from a local Secrets Manager on
 * 127.0.0.1 and composes the bridge. Targets: each bundle ≤ 1 MB, import + init ≤ 200 ms (the median; its CPU
 * time is printed too, which a machine busy with other work stretches less than the wall time).
 * Then counts the AWS requests of `messages` customer DMs and as many agent replies (bench/lambda-requests.ts) and
 * prices them per million at the list prices below. Prints Markdown tables.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleFunctions, type BundledFunction, type FunctionName } from '../deploy/aws/bundle.js';
import { LAMBDA_ENTRIES } from '../deploy/aws/entries.js';
import { FUNCTION_ENV } from '../src/entry/lambda-env.js';
import { AWS_CONFIG_EXAMPLE, AWS_ENV } from '../test/aws/config-example.js';
import { startFakeSecretsManager } from '../test/aws/fake-secrets-manager.js';
import { coldStart, type ColdStart } from './lambda-cold-start.js';
import { countRequests, type RequestCounts } from './lambda-requests.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, messages: { type: 'string', default: '50' } } });
const RUNS = Number(values.runs);
const MESSAGES = Number(values.messages);

/**
 * US East (N. Virginia) list prices in USD as published in 2026 (checked 2026-12-01), beyond the free tiers:
 * https://aws.amazon.com/lambda/pricing/ (Arm), https://aws.amazon.com/sqs/pricing/ (FIFO),
 * https://aws.amazon.com/dynamodb/pricing/on-demand/, https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs).
 */
const PRICE = {
  apiGatewayPerMillion: 1.0,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  sqsFifoPerMillion: 0.5,
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
};
/**
 * Assumed billed durations at the stack's 1024 MB (they are not measured here: on AWS they are bound by the
 * latency of DynamoDB, SQS and Genesys, not by this machine): the ingress makes three or four calls of a few ms
 * to DynamoDB and SQS; a job waits for one call to Genesys or a platform (about 150-250 ms) and a few to DynamoDB.
 */
const ASSUMED = { ingressSeconds: 0.05, jobSeconds: 0.25, memoryGb: 1 };
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const READS = new Set(['GetItem', 'Query']);
const MB = 1_000_000;
const TARGET_MS = 200;

function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package-lock.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package-lock.json above ${from}`);
  }
}

/** The bundle's bytes by package (node_modules/<name>) or by folder of src/. */
function largestParts(bundle: BundledFunction, n: number): string {
  const output = Object.values(bundle.metafile.outputs)[0]!;
  const parts = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const segments = path.split('/');
    const at = segments.lastIndexOf('node_modules');
    const name = at >= 0 ? segments.slice(at + 1, segments[at + 1]!.startsWith('@') ? at + 3 : at + 2).join('/') : segments.slice(0, 2).join('/');
    parts.set(name, (parts.get(name) ?? 0) + bytesInOutput);
  }
  return [...parts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, bytes]) => `${name} ${Math.round(bytes / 1000)}`)
    .join(', ');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const root = projectRoot(import.meta.dirname);
const out = mkdtempSync(join(tmpdir(), 'dmbridge-bench-lambda-'));
const region = 'eu-west-1';
const credentials = { accessKeyId: 'AKIABENCHMARK', secretAccessKey: 'bench-secret-access-key' };
const sm = await startFakeSecretsManager({ region, ...credentials, secrets: { 'dmbridge/config': AWS_CONFIG_EXAMPLE } });
try {
  const bundles = await bundleFunctions(root, LAMBDA_ENTRIES, out);
  const env = {
    ...AWS_ENV,
    [FUNCTION_ENV.configSecretArn]: sm.arnOf('dmbridge/config'),
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  };
  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; ${RUNS} cold starts per function\n`);
  console.log('| function | entry | bundle bytes | ≤ 1 MB | largest parts (kB) |');
  console.log('|---|---|---|---|---|');
  for (const name of Object.keys(bundles) as FunctionName[]) {
    const b = bundles[name];
    console.log(`| ${name} | ${LAMBDA_ENTRIES[name]} | ${b.bytes.toLocaleString('en')} | ${b.bytes <= MB ? 'yes' : 'NO'} | ${largestParts(b, 6)} |`);
  }
  console.log('\n| function | import + init p50 ms | p90 ms | max ms | ≤ 200 ms (p50) | its CPU time p50 ms | process start → ready p50 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const name of Object.keys(bundles) as FunctionName[]) {
    const starts: ColdStart[] = [];
    for (let i = 0; i < RUNS; i++) starts.push(await coldStart(bundles[name].file, env));
    const sorted = (pick: (s: (typeof starts)[number]) => number) => starts.map(pick).sort((a, b) => a - b);
    const init = sorted((s) => s.importInitMs);
    const cpu = sorted((s) => s.importInitCpuMs);
    const ready = sorted((s) => s.processToReadyMs);
    const p50 = percentile(init, 50);
    console.log(
      `| ${name} | ${p50.toFixed(0)} | ${percentile(init, 90).toFixed(0)} | ${init.at(-1)!.toFixed(0)} | ${p50 <= TARGET_MS ? 'yes' : 'NO'} | ${percentile(cpu, 50).toFixed(0)} | ${percentile(ready, 50).toFixed(0)} |`,
    );
  }
} finally {
  await sm.close();
  rmSync(out, { recursive: true, force: true });
}

/** One flow's requests per message, and what a million such messages cost at PRICE. */
function costTable(title: string, c: RequestCounts): void {
  const sum = (o: Record<string, number>, keep: (k: string) => boolean = () => true) => Object.entries(o).filter(([k]) => keep(k)).reduce((t, [, v]) => t + v, 0);
  const jobs = c.sqs.SendMessageBatch ?? 0;
  const sqsRequests = sum(c.sqs);
  const writes = sum(c.dynamodb, (k) => WRITES.has(k));
  const reads = sum(c.dynamodb, (k) => READS.has(k));
  const invocations = c.invocations.ingress + c.invocations.worker;
  const gbSeconds = (c.invocations.ingress * ASSUMED.ingressSeconds + jobs * ASSUMED.jobSeconds) * ASSUMED.memoryGb;
  const rows: Array<[string, string, number]> = [
    ['API Gateway (HTTP API)', `${c.apiGateway} request`, c.apiGateway * PRICE.apiGatewayPerMillion],
    ['Lambda requests', `${invocations.toFixed(2)} invocations (ingress 1, worker ${c.invocations.worker.toFixed(2)})`, invocations * PRICE.lambdaRequestsPerMillion],
    ['Lambda duration (assumed)', `${gbSeconds.toFixed(2)} GB-s (${jobs} job${jobs === 1 ? '' : 's'})`, gbSeconds * PRICE.lambdaArmPerGbSecond * 1e6],
    ['SQS FIFO', `${sqsRequests.toFixed(2)} requests (${Object.entries(c.sqs).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`, sqsRequests * PRICE.sqsFifoPerMillion],
    ['DynamoDB on-demand', `${writes.toFixed(2)} writes, ${reads.toFixed(2)} reads (${Object.entries(c.dynamodb).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`, writes * PRICE.dynamoWritePerMillion + reads * PRICE.dynamoReadPerMillion],
  ];
  console.log(`\n${title}\n\n| service | per message | USD per million messages |\n|---|---|---|`);
  for (const [service, per, usd] of rows) console.log(`| ${service} | ${per} | ${usd.toFixed(2)} |`);
  console.log(`| **total** | | **${rows.reduce((t, [, , usd]) => t + usd, 0).toFixed(2)}** |`);
}

const counted = await countRequests(MESSAGES);
costTable(`A customer's DM into Genesys (${MESSAGES} counted)`, counted.inbound);
costTable(`An agent's reply out to Instagram, with its receipt (${MESSAGES} counted)`, counted.reply);
