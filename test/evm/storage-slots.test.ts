import { type Hex, hexToBigInt } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { GATEWAY_SLOTS } from '../../src/evm/gateway/storage-slots.js';
import { type GatewayFixture, gatewayFixture } from './fixture.js';

/**
 * The slots a worker proves with eth_getProof (src/evm/gateway/storage-slots.ts), read back from
 * a real gateway: a layout change in PhalaBridgeGateway.sol fails here, not in production.
 */
let f: GatewayFixture;

beforeAll(async () => {
  f = await gatewayFixture();
});
afterAll(async () => {
  await f?.stop();
});

const storageAt = async (slot: Hex): Promise<bigint> =>
  hexToBigInt((await f.clients.publicClient.getStorageAt({ address: f.dev.gateway, slot })) ?? '0x0');

describe('gateway storage slots', () => {
  it('commitment(requestId) holds what commitmentOf answers; the contract record is epoch and registered bit, never written by a request', async () => {
    const before = await storageAt(GATEWAY_SLOTS.contractRecord(f.contractId));
    expect(before).toBe(1n << 64n); // epoch 0, registered
    const first = await f.request();
    const second = await f.request();
    for (const ref of [first, second]) {
      const commitment = await f.clients.publicClient.readContract({
        address: f.dev.gateway,
        abi: phalaBridgeGatewayAbi,
        functionName: 'commitmentOf',
        args: [ref.requestId],
      });
      expect(commitment).not.toBe(`0x${'0'.repeat(64)}`);
      expect(await storageAt(GATEWAY_SLOTS.commitment(ref.requestId))).toBe(hexToBigInt(commitment));
    }
    expect(await storageAt(GATEWAY_SLOTS.contractRecord(f.contractId))).toBe(before);
  });

  it('an unknown request id has no commitment', async () => {
    expect(await storageAt(GATEWAY_SLOTS.commitment(`0x${'ab'.repeat(32)}`))).toBe(0n);
  });
});
