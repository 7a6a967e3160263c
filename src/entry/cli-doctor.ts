/**
 * `dmbridge doctor`: before the first customer writes, every online check of the configuration — the store is
 * writable and not corrupt, a Genesys token can be had and each integration is active and points at the bridge,
 * each connection's platform credentials and subscriptions (its channel module's checks). A checklist with a fix
 * for each failure, or JSON; exit 1 when anything fails. Renews no token and subscribes nothing: what it writes is a
 * probe record that expires within a minute (and what a channel's checks look up and the bridge caches anyway, such as a shop's cipher).
 */
import { randomUUID } from 'node:crypto';
import { CHANNELS } from '../channels/index.js';
import { webhookBaseOf, type Config } from '../config/index.js';
import type { DoctorCheck } from '../core/doctor.js';
import { StoreCorruptError } from '../core/errors.js';
import { GenesysTokenProvider } from '../genesys/auth.js';
import { checkGenesys } from '../genesys/doctor.js';
import { GenesysPlatformApi } from '../genesys/platform-api.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { openStore } from '../store/open.js';
import type { Locks, Maintenance, Records } from '../core/store.js';
import { storeReturnsWhatItStores } from '../core/store-probe.js';
import { EXIT, maskUrl, print } from './cli-common.js';

const PROBE = 'doctor-probe';
const DAY_MS = 24 * 60 * 60 * 1000;

export async function doctor(config: Config, opts: { json: boolean }): Promise<number> {
  const logger = createLogger('silent');
  const checks: DoctorCheck[] = [];
  let store: DoctorStore | undefined;
  try {
    store = await openDoctorStore(config, logger);
    checks.push(...(await storeChecks(store, config)));
  } catch (err) {
    checks.push(storeNotOpened(config, err));
    // A store that cannot be read cannot give the channels' checks their stored tokens.
    await store?.close().catch(() => undefined);
    store = undefined;
  }
  const tokens = new GenesysTokenProvider({ config: config.genesys, logger });
  const api = new GenesysPlatformApi({ config: config.genesys, tokens, logger });
  checks.push(...(await checkGenesys(tokens, api, { genesys: config.genesys, webhookBase: webhookBaseOf(config.server), connections: config.connections })));
  if (store) {
    const deps = { store, clock: Date.now, metrics: createMetrics(), logger, webhookBase: webhookBaseOf(config.server) };
    for (const connection of config.connections) {
      const channel = CHANNELS.find((c) => c.name === connection.channel);
      if (!channel?.doctor) continue;
      try {
        checks.push(...(await channel.doctor(connection, deps)));
      } catch (err) {
        const fix = "Check that this machine reaches the store and the platform's API, then run doctor again.";
        checks.push({ name: `${connection.id}: ${channel.labels.platform} checks ran`, ok: false, detail: (err as Error).message, fix });
      }
    }
    await store.close();
  }
  if (opts.json) print(JSON.stringify(checks, null, 2));
  else for (const line of checklist(checks)) print(line);
  return checks.every((c) => c.ok) ? EXIT.ok : EXIT.failed;
}

/** What the checks use of a store: the probe record, the integrity check, the channels' stored tokens. */
type DoctorStore = Records & Locks & Maintenance;

/**
 * The configured store. `store: aws` (the DynamoDB table and the SQS queues the Lambda functions use) is opened only
 * here outside Lambda, with the AWS SDK's usual credentials (environment, profile), loaded only for it.
 */
async function openDoctorStore(config: Config, logger: Logger): Promise<DoctorStore> {
  if (config.store !== 'aws') return openStore(config.store, { postgres: config.postgres });
  if (!config.dynamodb || !config.sqs) throw new Error('store: aws needs the dynamodb: and sqs: sections');
  const { AwsStore } = await import('../store/sqs/open.js');
  return new AwsStore({ dynamodb: config.dynamodb, sqs: config.sqs, dedupeRetentionMs: config.dedupeRetentionDays * DAY_MS, logger });
}

/** The store as the checks name it, without a password. */
function storeName(config: Config): string {
  return config.store === 'aws' && config.dynamodb ? `the DynamoDB table ${config.dynamodb.tableName}` : maskUrl(config.store);
}

/** Why the store could not be opened; a damaged file's error already says what to do. */
function storeNotOpened(config: Config, err: unknown): DoctorCheck {
  if (err instanceof StoreCorruptError) {
    return { name: 'store: not corrupt', ok: false, detail: err.message, fix: 'Restore the store from a backup, or move the damaged file aside to start empty.' };
  }
  return {
    name: 'store: reachable',
    ok: false,
    detail: `${storeName(config)} could not be opened: ${(err as Error).message}`,
    fix:
      config.store === 'aws'
        ? "Check dynamodb.tableName and the region against the stack's TableName output, and that your AWS credentials may read and write the table."
        : 'Check the store URL, that the database or directory exists and that this user may write to it.',
  };
}

async function storeChecks(store: DoctorStore, config: Config): Promise<DoctorCheck[]> {
  const problems = await store.checkIntegrity();
  const integrity: DoctorCheck = problems.length === 0
    ? { name: 'store: not corrupt', ok: true, detail: `${storeName(config)}: no problem found` }
    : {
        name: 'store: not corrupt',
        ok: false,
        detail: problems.slice(0, 3).join('; '),
        fix: 'Stop the bridge, restore the store from a backup (or move the damaged file away to start empty), then start again.',
      };
  let writable: DoctorCheck;
  try {
    writable = (await storeReturnsWhatItStores(store, PROBE, randomUUID(), Date.now()))
      ? { name: 'store: writable', ok: true, detail: 'a probe record was written and read back' }
      : { name: 'store: writable', ok: false, detail: 'a probe record was written but could not be read back', fix: 'Check that the clocks of the instances sharing this store agree (NTP).' };
  } catch (err) {
    writable = { name: 'store: writable', ok: false, detail: (err as Error).message, fix: 'Check the disk space and the permissions of the store (or the database user).' };
  }
  return [writable, integrity];
}

/** `✓ name — detail`, and for a failure its fix on the next line. */
export function checklist(checks: readonly DoctorCheck[]): string[] {
  const failed = checks.filter((c) => !c.ok).length;
  return [
    ...checks.flatMap((c) => (c.ok ? [`✓ ${c.name} — ${c.detail}`] : [`✗ ${c.name} — ${c.detail}`, `    fix: ${c.fix ?? 'see the detail above'}`])),
    '',
    failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`,
  ];
}
