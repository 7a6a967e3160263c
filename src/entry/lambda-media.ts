/**
 * AWS Lambda entry of the media function, served by its function URL in RESPONSE_STREAM mode: streams
 * GET /media/{token} (./lambda-handlers.ts). The bridge is composed once, in the init phase.
 */
import { mediaHandler } from './lambda-handlers.js';
import { initLambda } from './lambda-init.js';

export const handler = mediaHandler(await initLambda());
