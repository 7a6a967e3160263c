/**
 * The entry file of each function, relative to the repository root: the one place the stack takes them from.
 *
 * STAND-IN: the Lambda entries (src/entry/lambda-http.ts, src/entry/lambda-sqs.ts, src/entry/lambda-media.ts)
 * are written once the new composition root (composeBridge in src/bridge.ts) is merged. Until then every
 * function bundles the test-only stand-in, which fails every invocation: the stack synthesizes and its tests
 * run, but a deployment of it does nothing. Switch these three paths to the real entries then.
 */
export interface LambdaEntries {
  /** The Hono app behind API Gateway: verify, dedupe, enqueue, answer. */
  ingress: string;
  /** Fed by the SQS event source mapping: runs the jobs. */
  worker: string;
  /** GET /media/{token}, streamed through a function URL. */
  media: string;
}

const STAND_IN = 'test/aws/lambda-stand-in.ts';

export const LAMBDA_ENTRIES: LambdaEntries = { ingress: STAND_IN, worker: STAND_IN, media: STAND_IN };
