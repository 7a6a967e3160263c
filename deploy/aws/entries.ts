/**
 * The entry file of each function, relative to the repository root: the one place the CDK app and the
 * benchmark take them from (bundled by ./bundle.ts).
 */
export interface LambdaEntries {
  /** The Hono app behind API Gateway: verify, dedupe, enqueue, answer. */
  ingress: string;
  /** Fed by the SQS event source mapping: runs the jobs. */
  worker: string;
  /** GET /media/{token}, streamed through a function URL. */
  media: string;
}

export const LAMBDA_ENTRIES: LambdaEntries = {
  ingress: 'src/entry/lambda-http.ts',
  worker: 'src/entry/lambda-sqs.ts',
  media: 'src/entry/lambda-media.ts',
};
