/**
 * Takes the place of @aws-sdk/credential-provider-node in the Lambda bundles (./bundle.ts). Lambda hands a function
 * its role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, so there the environment
 * is the whole credential chain; the SSO, profile file, process, web identity and instance metadata providers, and
 * the STS and SSO clients they bring, would be 90 KB of bundle that never runs.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export function defaultProvider(init?: Parameters<typeof fromEnv>[0]) {
  return fromEnv(init);
}
