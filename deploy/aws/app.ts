/**
 * The CDK app: bundles the functions (./bundle.ts, into dist/lambda), then writes the CloudFormation template and
 * the function assets; `npm run synth -- --output DIR` writes them to DIR with no AWS account and no network. The
 * CDK CLI runs it too (./cdk.json), passing context with `-c`: `configSecretName` (an existing secret holding the
 * configuration), `alarmEmail`, `stackName` (default Dmbridge).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { bundleFunctions } from './bundle.js';
import { LAMBDA_ENTRIES } from './entries.js';
import { DmbridgeStack } from './stack.js';

/** This file runs from deploy/aws (tests) or dist/deploy/aws (built): the root is where package-lock.json is. */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package-lock.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package-lock.json above ${from}`);
  }
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const root = projectRoot(import.meta.dirname);
const bundles = await bundleFunctions(root, LAMBDA_ENTRIES, join(root, 'dist', 'lambda'));
const output = option('--output');
const app = new App(output ? { outdir: resolve(output) } : {});
const context = (key: string): string | undefined => app.node.tryGetContext(key) as string | undefined;
new DmbridgeStack(app, context('stackName') ?? 'Dmbridge', {
  description: 'dmbridge: Instagram and TikTok direct messages into Genesys Cloud Open Messaging',
  code: { ingress: bundles.ingress.dir, worker: bundles.worker.dir, media: bundles.media.dir },
  configSecretName: context('configSecretName'),
  alarmEmail: context('alarmEmail'),
});
app.synth();
