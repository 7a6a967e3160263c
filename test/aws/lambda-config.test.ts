/**
 * The AWS profile's configuration: `store: aws` with its `dynamodb:` and `sqs:` sections in the one schema, the
 * Node server refusing it, and the functions reading the whole file from Secrets Manager (a local fake that
 * speaks the service's JSON protocol and checks the Signature Version 4 of every call) with `${…}` references
 * filled from the function's environment.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { composeLambdaBridge, readConfigSecret } from '../../src/entry/lambda-init.js';
import { FUNCTION_ENV } from '../../src/entry/lambda-env.js';
import { startServer } from '../../src/entry/server.js';
import { silentLogger } from '../../src/logger.js';
import { startFakeSecretsManager, type FakeSecretsManager } from './fake-secrets-manager.js';
import { openStore } from '../../src/store/open.js';
import { AWS_CONFIG_EXAMPLE, AWS_ENV } from './config-example.js';
import { CREDENTIALS, REGION } from './local-aws.js';
import { configErrorOf } from '../helpers.js';

const errorOf = (text: string, env: NodeJS.ProcessEnv = AWS_ENV) => configErrorOf(text, env);

describe('store: aws in the configuration', () => {
  it('accepts the documented AWS configuration, its table, queues and media URL taken from the function environment', () => {
    const config = parseConfig(AWS_CONFIG_EXAMPLE, AWS_ENV);
    expect(config.store).toBe('aws');
    expect(config.dynamodb).toMatchObject({ tableName: AWS_ENV[FUNCTION_ENV.tableName] });
    expect(config.sqs).toMatchObject({ queueUrl: AWS_ENV[FUNCTION_ENV.queueUrl], deadLetterQueueUrl: AWS_ENV[FUNCTION_ENV.deadLetterQueueUrl] });
    expect(config.server.publicUrl).toBe(AWS_ENV[FUNCTION_ENV.mediaBaseUrl]);
  });

  it('names the section that store: aws needs and that is missing', () => {
    const withoutSqs = AWS_CONFIG_EXAMPLE.replace(/^sqs:.*(\n {2}.*)*/m, '');
    expect(errorOf(withoutSqs)).toMatch(/^ {2}sqs: required with store: aws$/m);
    expect(errorOf(AWS_CONFIG_EXAMPLE.replace(/^dynamodb:.*(\n {2}.*)*/m, ''))).toMatch(/^ {2}dynamodb: required with store: aws$/m);
  });

  it('names the AWS sections given with another store', () => {
    const message = errorOf(AWS_CONFIG_EXAMPLE.replace('store: aws', 'store: sqlite:./data/dmbridge.db'));
    expect(message).toMatch(/^ {2}dynamodb: only used with store: aws$/m);
    expect(message).toMatch(/^ {2}sqs: only used with store: aws$/m);
  });

  it('refuses a standard queue where FIFO ones are needed, naming the key', () => {
    const env = { ...AWS_ENV, [FUNCTION_ENV.queueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dmbridge-jobs' };
    expect(errorOf(AWS_CONFIG_EXAMPLE, env)).toContain('sqs.queueUrl: must be the URL of a FIFO queue');
  });

  it('names the environment variable a deployment did not set', () => {
    const { [FUNCTION_ENV.tableName]: _table, ...env } = AWS_ENV;
    expect(errorOf(AWS_CONFIG_EXAMPLE, env)).toContain(`dynamodb.tableName: environment variable ${FUNCTION_ENV.tableName} is not set`);
  });
});

describe('the Node server and store: aws', () => {
  it('refuses to open it, saying it runs only under the Lambda entries', async () => {
    await expect(openStore('aws')).rejects.toThrow(/^store: aws runs only under the AWS Lambda entries .*; the Node server needs store: sqlite:<path> or postgres:/);
    const config = parseConfig(AWS_CONFIG_EXAMPLE, AWS_ENV);
    await expect(startServer({ config, logger: silentLogger })).rejects.toThrow('store: aws runs only under the AWS Lambda entries');
  });

  it('is what the functions need: they refuse any other store', () => {
    const config = parseConfig(AWS_CONFIG_EXAMPLE.replace(/^(dynamodb|sqs):.*(\n {2}.*)*/gm, '').replace('store: aws', 'store: postgres://u:pw@db:5432/x'), AWS_ENV);
    expect(() => composeLambdaBridge(config)).toThrow('the AWS Lambda functions run on store: aws (with dynamodb: and sqs:), not on postgres');
  });
});

describe('the configuration secret', () => {
  let sm: FakeSecretsManager;
  const NAME = 'dmbridge/config';
  const client = (credentials = CREDENTIALS) => new SecretsManagerClient({ endpoint: sm.url, region: REGION, credentials, maxAttempts: 1 });
  const env = (secretId: string): NodeJS.ProcessEnv => ({ ...AWS_ENV, [FUNCTION_ENV.configSecretArn]: secretId });

  beforeAll(async () => {
    sm = await startFakeSecretsManager({ region: REGION, ...CREDENTIALS, secrets: { [NAME]: AWS_CONFIG_EXAMPLE } });
  });
  afterAll(() => sm?.close());

  it('is read by the ARN in the function environment, parsed with the one schema, its references filled from that environment', async () => {
    const config = await readConfigSecret(env(sm.arnOf(NAME)), client());
    expect(config).toMatchObject({ store: 'aws', dynamodb: { tableName: AWS_ENV[FUNCTION_ENV.tableName] } });
    expect(config.genesys.clientSecret).toBe('paste-the-oauth-client-secret-here');
    expect(sm.calls.at(-1)).toEqual({ operation: 'GetSecretValue', secretId: sm.arnOf(NAME), status: 200 });
  });

  it('names the secret and the key when the file in it is invalid, never a value', async () => {
    sm.putSecretValue('broken', AWS_CONFIG_EXAMPLE.replace(/clientSecret: .*/, 'clientSecret: ""'));
    const err = (await readConfigSecret(env('broken'), client()).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^secret broken: invalid configuration\n {2}genesys\.clientSecret: /);
  });

  it('says which secret could not be read and why: missing, or refused to the credentials', async () => {
    await expect(readConfigSecret(env('dmbridge/nope'), client())).rejects.toThrow(
      "secret dmbridge/nope: cannot be read (ResourceNotFoundException: Secrets Manager can't find the specified secret.)",
    );
    await expect(readConfigSecret(env(NAME), client({ ...CREDENTIALS, secretAccessKey: 'not-the-key' }))).rejects.toThrow(
      `secret ${NAME}: cannot be read (InvalidSignatureException: The request signature we calculated does not match`,
    );
    expect(sm.calls.some((c) => c.status === 400 && c.secretId === undefined)).toBe(true); // the forged call was refused before it was read
  });

  it('must be named by the function environment', async () => {
    await expect(readConfigSecret(AWS_ENV, client())).rejects.toThrow(`${FUNCTION_ENV.configSecretArn} is not set`);
  });
});
