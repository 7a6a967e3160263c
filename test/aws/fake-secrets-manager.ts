/**
 * A fake AWS Secrets Manager on 127.0.0.1 for the one call the Lambda functions make, GetSecretValue, over the
 * service's real wire protocol: AWS JSON 1.1 (`POST /`, `X-Amz-Target: secretsmanager.GetSecretValue`) with a
 * Signature Version 4 `Authorization` header, which it verifies with the credentials it was given. It refuses what
 * the service refuses: an unknown access key, a signature that does not match the request, a signature more than
 * 15 minutes old, an unknown operation, a secret that does not exist.
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManagerOptions {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Secret name → its SecretString. */
  secrets: Record<string, string>;
  account?: string;
}

export interface FakeSecretsManager {
  /** For the SDK's `endpoint` (or AWS_ENDPOINT_URL_SECRETS_MANAGER). */
  url: string;
  /** The ARN of a secret by name, as the service gives it (the name, a dash and six random characters). */
  arnOf(name: string): string;
  putSecretValue(name: string, value: string): void;
  /** Every call answered, in order: operation, the SecretId asked for, and the status. */
  readonly calls: Array<{ operation: string; secretId?: string; status: number }>;
  close(): Promise<void>;
}

const SERVICE = 'secretsmanager';
const MAX_SKEW_MS = 15 * 60 * 1000;

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function startFakeSecretsManager(opts: FakeSecretsManagerOptions): Promise<FakeSecretsManager> {
  const account = opts.account ?? '123456789012';
  const secrets = new Map<string, { value: string; arn: string; versionId: string }>();
  const arnOf = (name: string) => `arn:aws:secretsmanager:${opts.region}:${account}:secret:${name}-${createHash('sha256').update(name).digest('hex').slice(0, 6)}`;
  const put = (name: string, value: string) => secrets.set(name, { value, arn: arnOf(name), versionId: randomUUID() });
  for (const [name, value] of Object.entries(opts.secrets)) put(name, value);
  const calls: FakeSecretsManager['calls'] = [];

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    let status = 200;
    let answer: unknown;
    let secretId: string | undefined;
    try {
      verifySignature(req, body, opts);
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-amz-json-1.1') {
        throw new AwsError('SerializationException', 'expected POST with Content-Type application/x-amz-json-1.1');
      }
      if (target !== 'secretsmanager.GetSecretValue') throw new AwsError('UnknownOperationException', `${target || 'no X-Amz-Target'} is not an operation of this fake`);
      secretId = (JSON.parse(body.toString('utf8')) as { SecretId?: string }).SecretId;
      const found = [...secrets.entries()].find(([name, s]) => secretId === name || secretId === s.arn);
      if (!found) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      const [name, secret] = found;
      answer = { ARN: secret.arn, Name: name, VersionId: secret.versionId, SecretString: secret.value, VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 };
    } catch (err) {
      const e = err instanceof AwsError ? err : new AwsError('InternalServiceError', String(err), 500);
      status = e.status;
      answer = { __type: e.type, Message: e.message };
    }
    calls.push({ operation: target.replace(/^secretsmanager\./, ''), ...(secretId !== undefined ? { secretId } : {}), status });
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arnOf,
    putSecretValue: put,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Recomputes the request's Signature Version 4 and compares it with the one in `Authorization`:
 * `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=<h1;h2>, Signature=<hex>`.
 */
function verifySignature(req: IncomingMessage, body: Buffer, opts: FakeSecretsManagerOptions): void {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    String(req.headers.authorization ?? ''),
  );
  if (!auth) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400);
  const [, keyId, date, region, service, signedHeaders, signature] = auth as unknown as string[];
  if (keyId !== opts.accessKeyId) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (region !== opts.region || service !== SERVICE) throw new AwsError('InvalidSignatureException', `Credential should be scoped to a valid region and to ${SERVICE}.`);
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const at = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!amzDate.startsWith(date!) || !Number.isFinite(at)) throw new AwsError('InvalidSignatureException', 'X-Amz-Date is missing or does not match the credential scope.');
  if (Math.abs(Date.now() - at) > MAX_SKEW_MS) throw new AwsError('InvalidSignatureException', 'Signature expired: the request was signed more than 15 minutes ago.');

  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) throw new AwsError('InvalidSignatureException', 'host and x-amz-date must be signed.');
  const canonicalHeaders = names.map((name) => `${name}:${headerValue(req, name)}\n`).join('');
  const [path, query = ''] = (req.url ?? '/').split('?');
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .sort()
    .join('&');
  const canonicalRequest = [req.method, path, canonicalQuery, canonicalHeaders, signedHeaders, sha256(body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(Buffer.from(canonicalRequest))].join('\n');
  let key = hmac(`AWS4${opts.secretAccessKey}`, date!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    throw new AwsError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
  }
}

/** A header's value as SigV4 canonicalizes it: several values joined by commas, spaces trimmed and collapsed. */
function headerValue(req: IncomingMessage, name: string): string {
  const raw = req.headersDistinct[name] ?? [];
  return raw.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
