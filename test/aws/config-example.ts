/**
 * The AWS configuration example of docs/deploying.md, as the tests deploy it: the file an operator puts in the
 * configuration secret, and the environment the CDK stack gives the functions (values shaped as AWS makes them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FUNCTION_ENV } from '../../src/entry/lambda-env.js';

/** docs/ of the repository, found from test/aws (tests) or dist/test/aws (the built benchmark). */
function docsFile(name: string): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'docs', name))) return join(dir, 'docs', name);
    if (dirname(dir) === dir) throw new Error(`no docs/${name} above ${import.meta.dirname}`);
  }
}

const DOC = readFileSync(docsFile('deploying.md'), 'utf8');
const block = /<!-- aws-config:[^>]*-->\n```yaml\n([\s\S]*?)```/.exec(DOC);
if (!block) throw new Error('docs/deploying.md has no AWS configuration example (the aws-config block)');

export const AWS_CONFIG_EXAMPLE: string = block[1]!;

export const AWS_ENV: Record<string, string> = {
  [FUNCTION_ENV.tableName]: 'Dmbridge-State8D2F4E3B-1Q2W3E4R5T6Y',
  [FUNCTION_ENV.queueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Dmbridge-Jobs1A2B3C4D-AbCdEfGhIjKl.fifo',
  [FUNCTION_ENV.deadLetterQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Dmbridge-DeadLetterQueue9F8E7D6C-MnOpQrStUvWx.fifo',
  [FUNCTION_ENV.mediaBaseUrl]: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/',
};
