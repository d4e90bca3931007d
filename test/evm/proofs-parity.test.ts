import { type Address, type Hex, getAddress, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../src/base/bytes.js';
import { buildMerkleTree, merkleProof } from '../../src/crypto/merkle.js';
import {
  contractRegistrationDigest,
  batchLeaf,
  fulfillmentBatchDigest,
  fulfillmentDigest,
  fulfillmentLeaf,
  gatekeeperSetUpdateDigest,
  workerRegistrationDigest,
  workerRevocationDigest,
} from '../../src/crypto/proofs.js';
import { type EvmDevnet, devnetGatekeepers, startEvmDevnet } from '../../src/devnet/evm/index.js';
import { gatewayHarnessAbi, gatewayHarnessBytecode } from '../../src/evm/artifacts/testing/GatewayHarness.js';
import { buildFulfillmentBatch } from '../../src/evm/gateway/fulfill.js';
import { sortAddresses } from '../../src/evm/gateway/registry.js';
import { computeRequestCommitment } from '../../src/evm/request-id.js';
import type { FulfillmentInput } from '../../src/evm/types.js';
import { rand32, randBytes } from './fixture.js';

/**
 * The TypeScript signing helpers (src/crypto/proofs.ts, src/crypto/merkle.ts, src/evm) against
 * the gateway's own hashing, exposed by a test-only harness contract: byte for byte.
 */
let dev: EvmDevnet;
let harness: Address;

beforeAll(async () => {
  dev = await startEvmDevnet();
  const gk = devnetGatekeepers(3);
  const hash = await dev.clients.walletClient.deployContract({
    abi: gatewayHarnessAbi,
    bytecode: gatewayHarnessBytecode,
    args: [gk.map((g) => g.address), 2],
  });
  const receipt = await dev.clients.publicClient.waitForTransactionReceipt({ hash });
  harness = getAddress(receipt.contractAddress!);
});
afterAll(async () => {
  await dev?.stop();
});

const read = <T>(functionName: string, args: readonly unknown[]) =>
  dev.clients.publicClient.readContract({
    address: harness,
    abi: gatewayHarnessAbi,
    functionName: functionName as never,
    args: args as never,
  }) as Promise<T>;

const domain = () => ({ chainId: dev.node.chainId, verifyingContract: harness });
const randAddress = (): Address => getAddress(randBytes(20));

function item(): FulfillmentInput {
  return {
    request: {
      requestId: rand32(),
      contractId: rand32(),
      requester: randAddress(),
      callbackGasLimit: 100_000,
      deadline: 1_900_000_000n,
    },
    publicOutput: randBytes(1 + Math.floor(Math.random() * 80)),
    sealedOutput: randBytes(Math.floor(Math.random() * 200)),
    stateRoot: rand32(),
  };
}

describe('EIP-712 digests', () => {
  it('Fulfillment and FulfillmentBatch', async () => {
    for (let i = 0; i < 3; i++) {
      const m = {
        requestId: rand32(),
        publicOutputHash: rand32(),
        sealedOutputHash: rand32(),
        stateRoot: rand32(),
      };
      expect(
        await read('fulfillmentDigest', [m.requestId, m.publicOutputHash, m.sealedOutputHash, m.stateRoot]),
      ).toBe(fulfillmentDigest(domain(), m));
      const root = rand32();
      const count = 1 + i * 1000;
      expect(await read('fulfillmentBatchDigest', [root, count])).toBe(
        fulfillmentBatchDigest(domain(), root, count),
      );
    }
  });

  it('WorkerRegistration, ContractRegistration, WorkerRevocation, GatekeeperSetUpdate', async () => {
    const reg = {
      worker: randAddress(),
      measurement: rand32(),
      cluster: rand32(),
      expiresAt: 1_800_000_000n,
      epoch: 7n,
    };
    expect(await read('workerRegistrationDigest', [reg])).toBe(workerRegistrationDigest(domain(), reg));
    const c = { contractId: rand32(), cluster: rand32(), publicKey: rand32(), epoch: 3n };
    expect(await read('contractRegistrationDigest', [c])).toBe(contractRegistrationDigest(domain(), c));
    const r = { worker: randAddress(), revokeUpTo: 2n ** 64n - 1n, epoch: 2n };
    expect(await read('workerRevocationDigest', [r.worker, r.revokeUpTo, r.epoch])).toBe(
      workerRevocationDigest(domain(), r),
    );
    const u = {
      gatekeepers: sortAddresses([randAddress(), randAddress(), randAddress()]),
      threshold: 2,
      epoch: 1n,
    };
    expect(await read('gatekeeperSetUpdateDigest', [u.gatekeepers, u.threshold, u.epoch])).toBe(
      gatekeeperSetUpdateDigest(domain(), u),
    );
  });

  it('binds the chain id and the gateway address', async () => {
    const m = {
      requestId: rand32(),
      publicOutputHash: rand32(),
      sealedOutputHash: rand32(),
      stateRoot: rand32(),
    };
    const onChain = await read<Hex>('fulfillmentDigest', [
      m.requestId,
      m.publicOutputHash,
      m.sealedOutputHash,
      m.stateRoot,
    ]);
    expect(fulfillmentDigest({ ...domain(), chainId: 1 }, m)).not.toBe(onChain);
    expect(fulfillmentDigest({ ...domain(), verifyingContract: randAddress() }, m)).not.toBe(onChain);
  });
});

describe('batch leaves and Merkle root', () => {
  it('leaf i = keccak256(abi.encode(i, keccak256(abi.encode(requestId, publicOutputHash, sealedOutputHash, stateRoot))))', async () => {
    const m = {
      requestId: rand32(),
      publicOutputHash: rand32(),
      sealedOutputHash: rand32(),
      stateRoot: rand32(),
    };
    for (const i of [0, 1, 7, 0xffffffff]) {
      expect(
        await read('leaf', [BigInt(i), m.requestId, m.publicOutputHash, m.sealedOutputHash, m.stateRoot]),
      ).toBe(toHex(batchLeaf(i, fulfillmentLeaf(m))));
    }
    expect(toHex(batchLeaf(0, fulfillmentLeaf(m)))).not.toBe(toHex(batchLeaf(1, fulfillmentLeaf(m))));
  });

  it('a reordered batch has another root', () => {
    const items = Array.from({ length: 4 }, item);
    const reordered = [items[1]!, items[0]!, items[2]!, items[3]!];
    expect(buildFulfillmentBatch(reordered).root).not.toBe(buildFulfillmentBatch(items).root);
  });

  it('the gateway rebuilds the same root as src/crypto/merkle.ts for every batch size', async () => {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 16, 33]) {
      const items = Array.from({ length: n }, item);
      const { root } = buildFulfillmentBatch(items);
      expect(await read('batchRoot', [items.map((it, index) => ({ ...it, index }))]), `n = ${n}`).toBe(root);
    }
  });

  it('proofs from src/crypto/merkle.ts verify with OpenZeppelin MerkleProof', async () => {
    const leaves = Array.from({ length: 11 }, () => fromHex(rand32()));
    const tree = buildMerkleTree(leaves);
    for (const i of [0, 5, 10]) {
      const proof = merkleProof(tree, i).map((p) => toHex(p));
      expect(await read('verifyProof', [proof, toHex(tree.root), toHex(leaves[i]!)])).toBe(true);
      expect(await read('verifyProof', [proof, toHex(tree.root), keccak256(toHex(leaves[i]!))])).toBe(false);
    }
  });
});

describe('request commitment', () => {
  it('matches computeRequestCommitment', async () => {
    const p = {
      contractId: rand32(),
      requester: randAddress(),
      callbackGasLimit: 2_500_000,
      deadline: 2n ** 64n - 1n,
    };
    expect(await read('commitment', [p.contractId, p.requester, p.callbackGasLimit, p.deadline])).toBe(
      computeRequestCommitment(p),
    );
  });
});
