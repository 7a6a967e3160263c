/**
 * TEST-ONLY STAND-IN for the Lambda entries, which do not exist yet (see deploy/aws/entries.ts): something for
 * the CDK stack to bundle so that it synthesizes and its tests run. It fails every invocation on purpose, so a
 * stack deployed with it cannot be mistaken for a working bridge.
 */
export async function handler(): Promise<never> {
  throw new Error('dmbridge: this function was deployed with the test stand-in entry; deploy a build with the Lambda entries');
}
