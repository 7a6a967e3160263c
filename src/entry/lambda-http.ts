/**
 * AWS Lambda entry of the ingress function, behind API Gateway: verifies, dedupes and enqueues every webhook, then
 * answers (./lambda-handlers.ts). The bridge is composed once, in the init phase, from the configuration secret.
 */
import { ingressHandler } from './lambda-handlers.js';
import { initLambda } from './lambda-init.js';

export const handler = ingressHandler(await initLambda());
