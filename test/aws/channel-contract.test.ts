/**
 * The channel contract suite (test/channels/contract.ts) on the AWS profile: every registered channel, and one
 * defined only in the tests, end to end through the ingress function behind an HTTP API, the SQS FIFO queue and
 * the worker function fed by it, over local DynamoDB and fauxqs: signed webhooks in → Genesys, agent replies out
 * → the platform → a receipt back to Genesys.
 */
import { chirpUnderTest } from '../channels/chirp.js';
import { channelContract } from '../channels/contract.js';
import { instagramUnderTest, tiktokShopUnderTest, tiktokUnderTest } from '../channels/platforms.js';
import { awsLambdaProfile } from './aws-bridge.js';
import { useLocalAws } from './local-aws.js';

const aws = awsLambdaProfile(useLocalAws());

channelContract(instagramUnderTest, aws);
channelContract(tiktokUnderTest, aws);
channelContract(tiktokShopUnderTest, aws);
channelContract(chirpUnderTest, aws);
