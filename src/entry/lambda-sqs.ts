/**
 * AWS Lambda entry of the worker function, fed by the SQS event source mapping of the job queue: runs each batch
 * and reports its failures one by one (./lambda-handlers.ts). The bridge is composed once, in the init phase.
 */
import { workerHandler } from './lambda-handlers.js';
import { initLambda } from './lambda-init.js';

export const handler = workerHandler(await initLambda());
