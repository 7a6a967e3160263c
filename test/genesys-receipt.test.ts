/** Receipts built by the bridge must be what the (strict) fake Genesys accepts over real HTTP. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../src/core/errors.js';
import { GenesysClient } from '../src/genesys/client.js';
import { buildGenesysReceipt } from '../src/genesys/receipt.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { genesysTestConfig } from './helpers.js';

const CLIENT_ID = 'receipt-test-client';
const CLIENT_SECRET = 'receipt-test-secret-0123456789';
const INTEGRATION = '0a1b2c3d-1111-4222-8333-944455566677';
const CUSTOMER = '9900112233445566';
const GENESYS_ID = 'b1c2d3e4f5a60718293a4b5c6d7e8f90';
const AT = Date.UTC(2026, 2, 2, 9, 20, 1, 500);

const fake: FakeGenesys = await startFakeGenesys({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, integrationIds: [INTEGRATION] });
afterAll(() => fake.close());
beforeEach(() => {
  fake.receipts.length = 0;
});

const client = new GenesysClient({ config: genesysTestConfig(fake.url, CLIENT_ID, CLIENT_SECRET) });

describe('buildGenesysReceipt', () => {
  it('builds a Delivered receipt for the Genesys message id that the fake Genesys accepts', async () => {
    const receipt = buildGenesysReceipt({ genesysMessageId: GENESYS_ID, customerId: CUSTOMER, status: 'Delivered', time: AT });
    expect(receipt).toEqual({
      id: GENESYS_ID,
      channel: { to: { id: CUSTOMER, idType: 'Opaque' }, time: '2026-03-02T09:20:01.500Z' },
      status: 'Delivered',
      isFinalReceipt: true,
    });
    await expect(client.sendReceipt(INTEGRATION, receipt)).resolves.toMatchObject({ id: GENESYS_ID, status: 'Delivered' });
    await fake.waitForReceipts(1, 1000);
    expect(fake.receipts[0]).toMatchObject({ integrationId: INTEGRATION, id: GENESYS_ID, body: receipt });
  });

  it('builds a Failed receipt with the reason code and the sentence for the agent, accepted by the fake Genesys', async () => {
    const message = 'Instagram only allows replies within 24 hours of the customer’s last message; it closed at 14:02 UTC.';
    const receipt = buildGenesysReceipt({
      genesysMessageId: GENESYS_ID,
      customerId: CUSTOMER,
      status: 'Failed',
      time: AT,
      reason: 'MessageExpired',
      message,
    });
    expect(receipt.reasons).toEqual([{ code: 'MessageExpired', message }]);
    await expect(client.sendReceipt(INTEGRATION, receipt)).resolves.toMatchObject({ status: 'Failed', reasons: [{ code: 'MessageExpired' }] });
    expect(fake.receipts).toHaveLength(1);
  });

  it('gives a Failed receipt without reason or message a GeneralError with a readable message', async () => {
    const receipt = buildGenesysReceipt({ genesysMessageId: GENESYS_ID, customerId: CUSTOMER, status: 'Failed', time: AT, message: '  ' });
    expect(receipt.reasons).toEqual([{ code: 'GeneralError', message: 'The message could not be delivered (GeneralError).' }]);
    await expect(client.sendReceipt(INTEGRATION, receipt)).resolves.toMatchObject({ status: 'Failed' });
  });

  it('caps the reason message at 1000 characters without splitting an emoji', () => {
    const message = `${'x'.repeat(998)}👋👋👋`;
    const receipt = buildGenesysReceipt({ genesysMessageId: GENESYS_ID, customerId: CUSTOMER, status: 'Failed', time: AT, message });
    const capped = receipt.reasons![0]!.message;
    expect(Array.from(capped)).toHaveLength(1000);
    expect(capped).toBe(`${'x'.repeat(998)}👋…`);
  });

  it('puts no reasons on a Delivered receipt even when given some', () => {
    const receipt = buildGenesysReceipt({
      genesysMessageId: GENESYS_ID,
      customerId: CUSTOMER,
      status: 'Delivered',
      time: AT,
      reason: 'GeneralError',
      message: 'ignored',
    });
    expect(receipt.reasons).toBeUndefined();
  });
});

describe('fake Genesys: receipt validation', () => {
  it('rejects a Failed receipt without reasons, so the bridge can never send one', async () => {
    const receipt = buildGenesysReceipt({ genesysMessageId: GENESYS_ID, customerId: CUSTOMER, status: 'Failed', time: AT, message: 'x' });
    delete receipt.reasons;
    const err = await client.sendReceipt(INTEGRATION, receipt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).reason).toBe('InvalidMessageStructure');
    expect((err as Error).message).toMatch(/\.reasons/);
    expect(fake.receipts).toHaveLength(0);
  });
});
