import { randomBytes } from 'node:crypto';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';
import { hashTypedData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/base/bytes.js';
import { keccak256 } from '../../src/crypto/hash.js';
import { ethereumAddress, generateKeyPair, keyPairFromSecret } from '../../src/crypto/keys.js';
import { buildMerkleTree, merkleProof, verifyMerkleProof } from '../../src/crypto/merkle.js';
import {
  contractRegistrationDigest,
  eip712Types,
  fulfillmentBatchDigest,
  fulfillmentDigest,
  gatekeeperSetUpdateDigest,
  workerRevocationDigest,
  fulfillmentOf,
  recoverSubstrateFulfillmentSigner,
  recoverTypedSigner,
  signSubstrateFulfillment,
  signTypedDigest,
  workerRegistrationDigest,
} from '../../src/crypto/proofs.js';

const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const;
const viemDomain = { name: 'PhalaBridgeGateway', version: '1', ...domain };

describe('EIP-712 proofs agree with viem', () => {
  const worker = generateKeyPair('secp256k1');
  const account = privateKeyToAccount(toHex(worker.secretKey));
  const fulfillment = fulfillmentOf(
    toHex(randomBytes(32)),
    randomBytes(10),
    randomBytes(100),
    toHex(randomBytes(32)),
  );

  it('ethereumAddress matches viem', () => {
    expect(ethereumAddress(worker.publicKey)).toBe(account.address);
  });

  it('a Fulfillment signature is byte-identical to viem signTypedData and recovers the signer', async () => {
    const digest = fulfillmentDigest(domain, fulfillment);
    const ours = signTypedDigest(digest, worker.secretKey);
    const theirs = await account.signTypedData({
      domain: viemDomain,
      types: eip712Types,
      primaryType: 'Fulfillment',
      message: fulfillment,
    });
    expect(ours).toBe(theirs);
    expect(recoverTypedSigner(digest, ours)).toBe(account.address);
  });

  it('binds the chain id and the gateway address', () => {
    const digest = fulfillmentDigest(domain, fulfillment);
    expect(fulfillmentDigest({ ...domain, chainId: 1 }, fulfillment)).not.toBe(digest);
    expect(
      fulfillmentDigest(
        { ...domain, verifyingContract: '0x0000000000000000000000000000000000000001' },
        fulfillment,
      ),
    ).not.toBe(digest);
  });

  it('every digest is viem hashTypedData, domain by domain (separators are kept per gateway)', () => {
    const address = account.address;
    const h = (n: number) => toHex(new Uint8Array(32).fill(n));
    const cases = [
      ['Fulfillment', fulfillmentDigest, fulfillment],
      [
        'FulfillmentBatch',
        (d: typeof domain, m: { root: `0x${string}`; count: number }) =>
          fulfillmentBatchDigest(d, m.root, m.count),
        { root: h(1), count: 7 },
      ],
      [
        'WorkerRegistration',
        workerRegistrationDigest,
        { worker: address, measurement: h(2), cluster: h(3), expiresAt: 9n, epoch: 1n },
      ],
      [
        'ContractRegistration',
        contractRegistrationDigest,
        { contractId: h(4), cluster: h(3), publicKey: h(5), epoch: 2n },
      ],
      ['WorkerRevocation', workerRevocationDigest, { worker: address, revokeUpTo: 3n, epoch: 4n }],
      ['GatekeeperSetUpdate', gatekeeperSetUpdateDigest, { gatekeepers: [address], threshold: 1, epoch: 5n }],
    ] as const;
    for (const d of [domain, { ...domain, chainId: 1 }, domain]) {
      for (const [primaryType, digest, message] of cases) {
        const theirs = hashTypedData({
          domain: { name: 'PhalaBridgeGateway', version: '1', ...d },
          types: eip712Types,
          primaryType,
          message: message as never,
        });
        expect((digest as (d: unknown, m: unknown) => string)(d, message)).toBe(theirs);
      }
    }
  });

  it('WorkerRegistration matches viem', async () => {
    const message = {
      worker: account.address,
      measurement: toHex(randomBytes(32)),
      cluster: toHex(randomBytes(32)),
      expiresAt: 1_900_000_000n,
      epoch: 3n,
    };
    const sig = signTypedDigest(workerRegistrationDigest(domain, message), worker.secretKey);
    expect(sig).toBe(
      await account.signTypedData({
        domain: viemDomain,
        types: eip712Types,
        primaryType: 'WorkerRegistration',
        message,
      }),
    );
  });

  it('malformed and high-s signatures recover nothing', () => {
    const digest = fulfillmentDigest(domain, fulfillment);
    const sig = Buffer.from(signTypedDigest(digest, worker.secretKey).slice(2), 'hex');
    expect(recoverTypedSigner(digest, `0x${sig.subarray(0, 64).toString('hex')}`)).toBeNull();
    const badV = Buffer.from(sig);
    badV[64] = 30;
    expect(recoverTypedSigner(digest, `0x${badV.toString('hex')}`)).toBeNull();
    // s' = n - s is the malleable twin; it must be refused.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${sig.subarray(32, 64).toString('hex')}`);
    const twin = Buffer.from(sig);
    Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex').copy(twin, 32);
    twin[64] = sig[64] === 27 ? 28 : 27;
    expect(recoverTypedSigner(digest, `0x${twin.toString('hex')}`)).toBeNull();
  });
});

describe('Substrate fulfillment proof', () => {
  beforeAll(async () => {
    await cryptoWaitReady();
  });

  const worker = keyPairFromSecret('secp256k1', new Uint8Array(32).fill(9));
  const f = {
    genesisHash: randomBytes(32),
    requestId: randomBytes(32),
    publicOutput: randomBytes(5),
    sealedOutput: randomBytes(70),
    stateRoot: randomBytes(32),
  };

  it('verifies with polkadot-js ecdsa (blake2_256 of the SCALE payload)', async () => {
    const { substrateFulfillmentPayload } = await import('../../src/crypto/proofs.js');
    const signature = signSubstrateFulfillment(f, worker.secretKey);
    const result = signatureVerify(substrateFulfillmentPayload(f), signature, worker.publicKey);
    expect(result.isValid).toBe(true);
    expect(result.crypto).toBe('ecdsa');
    expect(
      Buffer.from(recoverSubstrateFulfillmentSigner(f, signature)!).equals(Buffer.from(worker.publicKey)),
    ).toBe(true);
  });

  it('any change of the payload changes the recovered key', () => {
    const signature = signSubstrateFulfillment(f, worker.secretKey);
    const other = recoverSubstrateFulfillmentSigner({ ...f, publicOutput: randomBytes(5) }, signature);
    expect(other && Buffer.from(other).equals(Buffer.from(worker.publicKey))).toBeFalsy();
  });
});

describe('sorted-pair Merkle tree', () => {
  for (const count of [1, 2, 3, 7, 8, 33]) {
    it(`${count} leaves: every proof verifies, a wrong leaf does not`, () => {
      const leaves = Array.from({ length: count }, () => keccak256(randomBytes(32)));
      const tree = buildMerkleTree(leaves);
      leaves.forEach((leaf, i) => {
        expect(verifyMerkleProof(tree.root, leaf, merkleProof(tree, i))).toBe(true);
      });
      expect(verifyMerkleProof(tree.root, keccak256(randomBytes(32)), merkleProof(tree, 0))).toBe(false);
    });
  }
});
