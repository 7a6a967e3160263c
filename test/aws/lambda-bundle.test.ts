/**
 * The functions as they are deployed: bundled by deploy/aws/bundle.ts (as the CDK app bundles them), each within
 * 1 MB and without the SQL drivers, and each starting cold in a fresh Node process the way Lambda starts it: the
 * bundle's init reads the configuration secret from a local Secrets Manager (by the ARN in its environment,
 * through the SDK's own environment settings), then its handler answers an event that needs no other service.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coldStart } from '../../bench/lambda-cold-start.js';
import { bundleFunctions, type BundledFunction, type FunctionName } from '../../deploy/aws/bundle.js';
import { LAMBDA_ENTRIES } from '../../deploy/aws/entries.js';
import { FUNCTION_ENV } from '../../src/entry/lambda-env.js';
import { tempDir } from '../helpers.js';
import { AWS_CONFIG_EXAMPLE, AWS_ENV } from './config-example.js';
import { startFakeSecretsManager, type FakeSecretsManager } from './fake-secrets-manager.js';
import { httpApiEvent } from './lambda-events.js';
import { CREDENTIALS, REGION } from './local-aws.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = tempDir('dmbridge-lambda-bundles-');
let bundles: Record<FunctionName, BundledFunction>;
let sm: FakeSecretsManager;
let env: Record<string, string>;

beforeAll(async () => {
  [bundles, sm] = await Promise.all([
    bundleFunctions(ROOT, LAMBDA_ENTRIES, dir.path),
    startFakeSecretsManager({ region: REGION, ...CREDENTIALS, secrets: { 'dmbridge/config': AWS_CONFIG_EXAMPLE } }),
  ]);
  env = {
    ...AWS_ENV,
    [FUNCTION_ENV.configSecretArn]: sm.arnOf('dmbridge/config'),
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: 'a-session-token-as-lambda-gives-one',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  };
}, 60_000);
afterAll(async () => {
  await sm?.close();
  dir.cleanup();
});

const handshake = (path = '/webhooks/instagram') =>
  httpApiEvent({ method: 'GET', url: `${path}?hub.mode=subscribe&hub.verify_token=choose-a-long-random-verify-token&hub.challenge=31415`, headers: {} });

describe('the bundled functions', () => {
  it('are each at most 1 MB and carry neither SQLite nor PostgreSQL nor the credential chain Lambda does not use, nor the sandbox or doctor', () => {
    for (const name of Object.keys(LAMBDA_ENTRIES) as FunctionName[]) {
      const { bytes, metafile } = bundles[name];
      expect(bytes).toBeLessThanOrEqual(1_000_000);
      const inputs = Object.keys(Object.values(metafile.outputs)[0]!.inputs);
      expect(inputs.filter((path) => /node_modules\/(better-sqlite3|pg|pg-pool|@aws-sdk\/credential-provider-(sso|ini|process|web-identity))\//.test(path))).toEqual([]);
      // The engines' code stays out; the configuration schema still knows their options.
      expect(inputs.filter((path) => /^src\/store\/(sqlite|postgres)\/(?!options\.ts$)/.test(path))).toEqual([]);
      expect(inputs.filter((path) => path.includes('zod/v4/locales/') && !path.endsWith('/en.js'))).toEqual([]);
      // Neither the sandbox's fakes (nor the Node HTTP server they listen with) nor the doctor's checks.
      expect(inputs.filter((path) => /^src\/channels\/[^/]+\/(sandbox\/|doctor\.ts)|@hono\/node-server/.test(path))).toEqual([]);
    }
  });

  it('start cold from the configuration secret: the ingress answers a handshake, the worker an empty batch, media a forged link', async () => {
    const calls = sm.calls.length;
    const ingress = await coldStart(bundles.ingress.file, env, handshake());
    expect(ingress.answer).toMatchObject({ statusCode: 200, body: '31415' });
    const worker = await coldStart(bundles.worker.file, env, { Records: [] });
    expect(worker.answer).toEqual({ batchItemFailures: [] });
    const media = await coldStart(bundles.media.file, env, httpApiEvent({ method: 'GET', url: '/media/forged.token', headers: {} }));
    expect(media.answer).toMatchObject({ statusCode: 403, body: expect.stringContaining('DMB_ERR_MEDIA_TOKEN_INVALID') });
    // One GetSecretValue per cold start, signed with the function's credentials.
    expect(sm.calls.slice(calls)).toEqual(Array.from({ length: 3 }, () => ({ operation: 'GetSecretValue', secretId: env[FUNCTION_ENV.configSecretArn], status: 200 })));
  });

  it('fail their init, naming the key, when the configuration in the secret is invalid', async () => {
    sm.putSecretValue('dmbridge/broken', AWS_CONFIG_EXAMPLE.replace('store: aws', 'store: aws\nqueue: { maxAttempts: 0 }'));
    const broken = { ...env, [FUNCTION_ENV.configSecretArn]: 'dmbridge/broken' };
    await expect(coldStart(bundles.ingress.file, broken)).rejects.toThrow(/secret dmbridge\/broken: invalid configuration\n {2}queue\.maxAttempts: /);
  });
});
