/**
 * `dmbridge doctor` on the AWS profile's configuration, from an operator's machine (the built CLI, in its own
 * process): it opens the DynamoDB table the functions share (here on the local DynamoDB), checks Genesys's webhook
 * against `server.webhookBaseUrl` (the API, while `publicUrl` is the media function) and each platform's token.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeGraph } from '../../src/channels/instagram/sandbox/fake-graph.js';
import type { FakeGenesys } from '../../src/sandbox/fake-genesys/index.js';
import { startDoctorFakes } from '../doctor-fakes.js';
import { TEST, rawTestConfig, tempDir } from '../helpers.js';
import { CREDENTIALS, REGION, createQueues, createTable, useLocalAws } from './local-aws.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'entry', 'cli.js');
const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const MEDIA = 'https://media123.lambda-url.eu-west-1.on.aws/';

const aws = useLocalAws();
const dir = tempDir();
let genesys: FakeGenesys;
let graph: FakeGraph;

beforeAll(async () => {
  ({ genesys, graph } = await startDoctorFakes(API));
});
afterAll(async () => {
  await Promise.all([genesys?.close(), graph?.close()]);
  dir.cleanup();
});

async function doctor(file: string): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, DMBRIDGE_CONFIG: '', AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_REGION: REGION };
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'doctor', '--config', file], { env });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('dmbridge doctor on store: aws', () => {
  it('checks the DynamoDB table, Genesys against the API and the platform tokens, and passes', async () => {
    const [dynamodb, { deadLetterQueueArn: _arn, ...sqs }] = await Promise.all([createTable(aws.endpoints), createQueues(aws.endpoints)]);
    const raw = rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: 'aws' });
    const file = join(dir.path, 'aws.json');
    writeFileSync(file, JSON.stringify({ ...raw, dynamodb, sqs, server: { ...raw.server, publicUrl: MEDIA, webhookBaseUrl: API } }));
    const ran = await doctor(file);
    expect(ran.stdout).toContain(`✓ store: not corrupt`);
    expect(ran.stdout).toContain(`the DynamoDB table ${dynamodb.tableName}: no problem found`);
    expect(ran.stdout).toContain('✓ store: writable');
    expect(ran.stdout).toContain(`✓ ${TEST.connectionId}: Genesys sends agent replies to this bridge`);
    expect(ran.stdout).toContain(`✓ ${TEST.connectionId}: Instagram token is valid`);
    expect(ran.code).toBe(0);
  });

  it('fails the store check, naming the table, when the table does not exist', async () => {
    const [dynamodb, { deadLetterQueueArn: _arn, ...sqs }] = await Promise.all([createTable(aws.endpoints), createQueues(aws.endpoints)]);
    const raw = rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: 'aws' });
    const file = join(dir.path, 'aws-missing.json');
    const missing = { ...dynamodb, tableName: `${dynamodb.tableName}-gone` };
    writeFileSync(file, JSON.stringify({ ...raw, dynamodb: missing, sqs, server: { ...raw.server, publicUrl: MEDIA, webhookBaseUrl: API } }));
    const ran = await doctor(file);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toMatch(new RegExp(`✗ store: .*${missing.tableName}`));
    expect(ran.stdout).toContain("fix: Check dynamodb.tableName and the region against the stack's TableName output");
  });
});
