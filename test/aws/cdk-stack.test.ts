/**
 * The CDK app's template (deploy/aws/stack.ts), synthesized with no AWS account and no network, as
 * CloudFormation would receive it. One file: importing aws-cdk-lib alone takes many seconds.
 */
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunctions, type FunctionName } from '../../deploy/aws/bundle.js';
import { LAMBDA_ENTRIES } from '../../deploy/aws/entries.js';
import { CHANNELS } from '../../src/channels/index.js';
import { FUNCTION_ENV } from '../../src/entry/lambda-env.js';
import { DmbridgeStack } from '../../deploy/aws/stack.js';
import { TABLE_KEY, TABLE_TTL_ATTRIBUTE } from '../../src/store/dynamodb/table.js';
import { QUEUE, VISIBILITY_TIMEOUT_FACTOR } from '../../src/store/sqs/queue.js';
import { tempDir } from '../helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');

type Resource = { Type: string; Properties: Record<string, any> };

let template: Template;
let resources: Record<string, Resource>;
let code: Record<FunctionName, string>;
const bundles = tempDir('dmbridge-lambda-bundles-');

/** The logical id of the one function whose description starts with `dmbridge <role>:`. */
function functionId(role: 'ingress' | 'worker' | 'media'): string {
  const ids = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp(`^dmbridge ${role}:`) } }));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

function queueIds(): { jobs: string; dlq: string } {
  const queues = template.findResources('AWS::SQS::Queue');
  const jobs = Object.keys(queues).find((id) => queues[id]!.Properties.RedrivePolicy);
  const dlq = Object.keys(queues).find((id) => !queues[id]!.Properties.RedrivePolicy);
  return { jobs: jobs!, dlq: dlq! };
}

beforeAll(async () => {
  const bundled = await bundleFunctions(ROOT, LAMBDA_ENTRIES, bundles.path);
  code = { ingress: bundled.ingress.dir, worker: bundled.worker.dir, media: bundled.media.dir };
  const app = new App();
  const stack = new DmbridgeStack(app, 'Dmbridge', { code, alarmEmail: 'ops@example.com' });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
}, 120_000);
afterAll(() => bundles.cleanup());

describe('the AWS CDK stack', () => {
  it('serves every webhook through an HTTP API whose default route invokes the ingress function with payload 2.0', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [functionId('ingress'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', AutoDeploy: true });
  });

  it('runs ingress, worker and media on Node.js 22, each from its own bundle of its own entry', () => {
    const assets = new Set<string>();
    for (const role of ['ingress', 'worker', 'media'] as const) {
      const fn = resources[functionId(role)]!.Properties;
      expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Architectures: ['arm64'] });
      expect(fn.Code.S3Key).toMatch(/\.zip$/);
      assets.add(fn.Code.S3Key as string);
    }
    expect(assets.size).toBe(3);
    expect(LAMBDA_ENTRIES).toEqual({ ingress: 'src/entry/lambda-http.ts', worker: 'src/entry/lambda-sqs.ts', media: 'src/entry/lambda-media.ts' });
    expect(resources[functionId('ingress')]!.Properties.Timeout).toBeLessThan(30); // under API Gateway's 30 s
  });

  it('has a FIFO job queue and a FIFO dead-letter queue, redrive only as a backstop, visibility at least six worker timeouts', () => {
    const { jobs, dlq } = queueIds();
    const queue = resources[jobs]!.Properties;
    const dead = resources[dlq]!.Properties;
    for (const q of [queue, dead]) {
      expect(q).toMatchObject({
        FifoQueue: QUEUE.fifo,
        ContentBasedDeduplication: QUEUE.contentBasedDeduplication,
        DeduplicationScope: QUEUE.deduplicationScope,
        FifoThroughputLimit: QUEUE.fifoThroughputLimit,
        MessageRetentionPeriod: QUEUE.retentionSeconds,
      });
    }
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: QUEUE.maxReceiveCount });
    const workerTimeout = resources[functionId('worker')]!.Properties.Timeout as number;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * workerTimeout);
  });

  it('feeds the worker from the job queue in batches whose failures are reported one by one', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueIds().jobs, 'Arn'] },
      FunctionName: { Ref: functionId('worker') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  it('keeps state in one pay-per-request table with the key and time-to-live the store uses, kept when the stack goes', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: TABLE_KEY.name, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: TABLE_KEY.name, AttributeType: TABLE_KEY.type }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: TABLE_TTL_ATTRIBUTE, Enabled: true },
      },
    });
  });

  it('streams media from a public function URL in RESPONSE_STREAM mode', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'RESPONSE_STREAM',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId('media'), 'Arn'] },
    });
  });

  it('alarms on dead letters, old jobs, and errors and throttles of each function, to one topic with the given mail', () => {
    const { jobs, dlq } = queueIds();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const on = (metric: string, dimension: unknown) => alarms.filter((a) => a.MetricName === metric && JSON.stringify(a.Dimensions).includes(JSON.stringify(dimension)));
    expect(on('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [dlq, 'QueueName'] })).toMatchObject([{ Threshold: 1 }]);
    expect(on('ApproximateAgeOfOldestMessage', { 'Fn::GetAtt': [jobs, 'QueueName'] })).toMatchObject([{ Threshold: 1800 }]);
    for (const role of ['ingress', 'worker', 'media'] as const) {
      expect(on('Errors', { Ref: functionId(role) })).toHaveLength(1);
      expect(on('Throttles', { Ref: functionId(role) })).toHaveLength(1);
    }
    const topic = Object.keys(template.findResources('AWS::SNS::Topic'))[0]!;
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('outputs the webhook URLs to paste into each registered platform and into Genesys', () => {
    const api = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'))[0]!;
    const url = (path: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [api, 'ApiEndpoint'] }, path]] });
    template.hasOutput('InstagramWebhookUrl', { Value: url('/webhooks/instagram'), Description: Match.stringLikeRegexp('^Instagram: ') });
    template.hasOutput('TikTokWebhookUrl', { Value: url('/webhooks/tiktok'), Description: Match.stringLikeRegexp('^TikTok: ') });
    template.hasOutput('TikTokShopWebhookUrl', { Value: url('/webhooks/tiktok-shop'), Description: Match.stringLikeRegexp('^TikTok Shop: ') });
    expect(Object.keys(template.findOutputs('*')).filter((id) => id.endsWith('WebhookUrl'))).toHaveLength(CHANNELS.length + 1);
    template.hasOutput('GenesysWebhookUrl', { Value: url('/webhooks/genesys/{connectionId}'), Description: Match.stringLikeRegexp('Genesys') });
    template.hasOutput('TableName', { Value: { Ref: Object.keys(template.findResources('AWS::DynamoDB::Table'))[0] } });
    template.hasOutput('QueueUrl', {});
    template.hasOutput('WebhookBaseUrl', { Value: { 'Fn::GetAtt': [api, 'ApiEndpoint'] }, Description: Match.stringLikeRegexp('server.webhookBaseUrl') });
    template.hasOutput('ConfigSecretArn', {});
    template.hasOutput('AlarmTopicArn', {});
  });

  it('puts no secret in the template or in any function environment: the functions get the config secret by ARN', () => {
    const secret = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    expect(secret).toHaveLength(1);
    expect(resources[secret[0]!]!.Properties.SecretString).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"SecretString"/);
    for (const role of ['ingress', 'worker', 'media'] as const) {
      const variables = resources[functionId(role)]!.Properties.Environment.Variables as Record<string, unknown>;
      // Every name the one configuration may reference is there, in every function, and nothing else.
      expect(Object.keys(variables).sort()).toEqual(Object.values(FUNCTION_ENV).sort());
      for (const value of Object.values(variables)) expect(typeof value).not.toBe('string'); // a reference to a resource, never a literal
      expect(variables[FUNCTION_ENV.configSecretArn]).toEqual({ Ref: secret[0] });
    }
    const urlOf = (role: 'ingress' | 'worker') => resources[functionId(role)]!.Properties.Environment.Variables[FUNCTION_ENV.mediaBaseUrl];
    const mediaUrl = Object.keys(template.findResources('AWS::Lambda::Url'))[0]!;
    for (const role of ['ingress', 'worker'] as const) expect(urlOf(role)).toEqual({ 'Fn::GetAtt': [mediaUrl, 'FunctionUrl'] });
  });

  it('lets each function read the config secret and the table, and the worker send to the dead-letter queue', () => {
    const { dlq } = queueIds();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties.PolicyDocument));
    expect(policies).toHaveLength(3);
    for (const policy of policies) {
      expect(policy).toContain('secretsmanager:GetSecretValue');
      expect(policy).toContain('dynamodb:PutItem');
    }
    const sendsToDlq = policies.filter((p) => p.includes('sqs:SendMessage') && p.includes(JSON.stringify({ 'Fn::GetAtt': [dlq, 'Arn'] })));
    expect(sendsToDlq).toHaveLength(1);
    expect(sendsToDlq[0]).toContain('sqs:ChangeMessageVisibility');
  });
});

it('uses an existing configuration secret by name when given one, creating none', () => {
  const stack = new DmbridgeStack(new App(), 'WithSecret', { code, configSecretName: 'dmbridge/config' });
  const withSecret = Template.fromStack(stack);
  withSecret.resourceCountIs('AWS::SecretsManager::Secret', 0);
  expect(JSON.stringify(withSecret.findOutputs('ConfigSecretArn'))).toContain('secret:dmbridge/config');
}, 60_000);
