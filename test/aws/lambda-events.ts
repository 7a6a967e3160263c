/**
 * The events and context Lambda hands a function, built as AWS builds them from an HTTP request:
 * - API Gateway HTTP API, payload format 2.0 (also what a function URL sends):
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 *   Headers lower-cased, repeated ones joined by commas, cookies apart; the body as text when it is UTF-8 text,
 *   else base64 with `isBase64Encoded`.
 * - API Gateway REST API, payload format 1.0, with `binaryMediaTypes: ['*\/*']` (every body base64) or without
 *   (the body as text: bytes that are not UTF-8 are replaced, as API Gateway does):
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 * - The context object: https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda';

export interface HttpRequestShape {
  method: string;
  /** Path and query, e.g. `/webhooks/instagram?hub.mode=subscribe`. */
  url: string;
  headers: Record<string, string | string[]>;
  body?: Uint8Array;
}

const HOST = 'abc123def4.execute-api.us-east-1.amazonaws.com';

function isUtf8Text(body: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(body);
    return true;
  } catch {
    return false;
  }
}

function split(url: string): { path: string; query: string } {
  const i = url.indexOf('?');
  return i < 0 ? { path: url, query: '' } : { path: url.slice(0, i), query: url.slice(i + 1) };
}

function queryParams(query: string): { single: Record<string, string>; multi: Record<string, string[]> } {
  const multi: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) (multi[k] ??= []).push(v);
  const single = Object.fromEntries(Object.entries(multi).map(([k, vs]) => [k, vs[vs.length - 1]!]));
  return { single, multi };
}

function headerList(headers: HttpRequestShape['headers']): Array<[string, string[]]> {
  return Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]);
}

export function httpApiEvent(req: HttpRequestShape, opts: { domainName?: string; sourceIp?: string } = {}): APIGatewayProxyEventV2 {
  const { path, query } = split(req.url);
  const domainName = opts.domainName ?? HOST;
  const list = headerList({ host: domainName, ...req.headers });
  const cookies = list.filter(([k]) => k === 'cookie').flatMap(([, v]) => v.flatMap((c) => c.split(/;\s*/)));
  const headers = Object.fromEntries(list.filter(([k]) => k !== 'cookie').map(([k, v]) => [k, v.join(',')]));
  const { single } = queryParams(query);
  const now = Date.now();
  const body = req.body && req.body.length > 0 ? req.body : undefined;
  const text = body !== undefined && isUtf8Text(body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: single } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: domainName.split('.')[0]!,
      domainName,
      domainPrefix: domainName.split('.')[0]!,
      http: { method: req.method, path, protocol: 'HTTP/1.1', sourceIp: opts.sourceIp ?? '203.0.113.10', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body !== undefined ? { body: text ? Buffer.from(body).toString('utf8') : Buffer.from(body).toString('base64') } : {}),
    isBase64Encoded: body !== undefined && !text,
  };
}

export function restApiEvent(req: HttpRequestShape, opts: { binaryMediaTypes: boolean }): APIGatewayProxyEvent {
  const { path, query } = split(req.url);
  const list = headerList({ host: HOST, ...req.headers });
  const { single, multi } = queryParams(query);
  const now = Date.now();
  const body = req.body && req.body.length > 0 ? req.body : undefined;
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: req.method,
    headers: Object.fromEntries(list.map(([k, v]) => [k, v[v.length - 1]!])),
    multiValueHeaders: Object.fromEntries(list),
    queryStringParameters: query ? single : null,
    multiValueQueryStringParameters: query ? multi : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: HOST.split('.')[0]!,
      authorizer: undefined,
      domainName: HOST,
      httpMethod: req.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.10',
        user: null,
        userAgent: null,
        userArn: null,
      },
      path: `/prod${path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'abc123',
      resourcePath: '/{proxy+}',
      stage: 'prod',
    },
    body: body === undefined ? null : opts.binaryMediaTypes ? Buffer.from(body).toString('base64') : Buffer.from(body).toString('utf8'),
    isBase64Encoded: body !== undefined && opts.binaryMediaTypes,
  };
}

/** A context whose deadline is `timeoutMs` after now. */
export function lambdaContext(functionName: string, timeoutMs = 60_000, clock: () => number = Date.now): Context {
  const deadline = clock() + timeoutMs;
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${requestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - clock()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
