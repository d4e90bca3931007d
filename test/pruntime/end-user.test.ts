import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import { EnvelopeOpenError, openEnvelope } from '../../src/crypto/envelope.js';
import { outputContext, requestContext } from '../../src/crypto/envelope-context.js';
import { sealKeyHandover } from '../../src/crypto/key-handover.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { computeRequestIdFromInput } from '../../src/evm/request-id.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import {
  Enclave,
  EnclaveRefusalError,
  type ExecuteRequest,
  SimPlatform,
} from '../../src/pruntime/enclave/index.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { contractOrigin, expectedRequestId } from '../../src/pruntime/worker/request-check.js';
import { sealInput } from '../../src/sdk/seal.js';

// Issue 13, item 3: Bob copies Alice's public (sealedInput, responseKey) from her
// PrivateCheck.check() transaction and calls check() himself. The gateway records Bob as the end
// user; the worker opens the input for Bob, which fails: the envelope is bound to Alice.

const CODE = readFileSync(new URL('../../examples/contracts/private-check.js', import.meta.url), 'utf8');
const CONTRACT_ID = toHex(new Uint8Array(32).fill(0xc1));
const GATEWAY = '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const;
const PRIVATE_CHECK = '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512' as Hex;
const ALICE = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' as Hex;
const BOB = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc' as Hex;
const ORIGIN = { kind: 'evm' as const, chainId: 31337, gateway: GATEWAY };

let engine: ContractEngine;
let enclave: Enclave;
let dir: string;
const contractKey = generateKeyPair('x25519');
const aliceResponse = generateKeyPair('x25519');

beforeAll(async () => {
  engine = await ContractEngine.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'end-user-'));
  enclave = await Enclave.open({
    dataDir: dir,
    platform: new SimPlatform({
      platformSecret: new Uint8Array(32).fill(0x51),
      platformCaKey: new Uint8Array(32).fill(0xca),
      measurement: new Uint8Array(32).fill(0x4d),
      now: () => 1_700_000_000n,
    }),
    engine,
  });
  const envelope = sealKeyHandover(fromHex(enclave.publicIdentity.x25519), {
    kind: 'contract',
    id: fromHex(CONTRACT_ID),
    epoch: 1,
    secretKey: contractKey.secretKey,
  });
  await enclave.receiveKeyHandover({ envelope, epoch: 1, expectedPublicKey: contractKey.publicKey });
}, 60_000);
afterAll(async () => {
  await engine?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The job a watcher makes of `endUser`'s check() call carrying `sealedInput` (nonce `nonce`). */
function jobOf(endUser: Hex, sealedInput: Hex, nonce: bigint): RequestJob {
  const responseKey = toHex(aliceResponse.publicKey);
  const requestId = computeRequestIdFromInput({
    ...ORIGIN,
    nonce,
    requester: PRIVATE_CHECK,
    endUser,
    contractId: CONTRACT_ID,
    responseKey,
    sealedInput,
  });
  return {
    v: 1,
    origin: ORIGIN,
    requestId,
    contractId: CONTRACT_ID,
    cluster: toHex(new Uint8Array(32).fill(0xcc)),
    requester: PRIVATE_CHECK,
    endUser,
    nonce: nonce.toString(),
    sealedInput,
    responseKey,
    deadline: 2_000_000_000,
    callbackGasLimit: 80_000,
    observed: { chain: 'hardhat', blockNumber: 1, blockHash: toHex(new Uint8Array(32)), at: 0 },
  };
}

/** What the worker hands the enclave for a checked job (request-processor does the same). */
function executeRequestOf(job: RequestJob): ExecuteRequest {
  const context = {
    cluster: job.cluster,
    phalaGenesisHash: GATEWAY,
    xcmOriginIndex: null,
    evmGateways: null,
  };
  expect(expectedRequestId(job, context)).toBe(job.requestId);
  return {
    contractId: job.contractId,
    code: CODE,
    originKey: `evm-${ORIGIN.chainId}`,
    origin: contractOrigin(job),
    requester: fromHex(job.requester),
    requestId: job.requestId,
    sealedInput: fromHex(job.sealedInput),
    responseKey: fromHex(job.responseKey),
    state: null,
    target: { kind: 'evm', chainId: ORIGIN.chainId, verifyingContract: GATEWAY },
  };
}

describe('a sealed input is bound to its end user', () => {
  const aliceInput = () =>
    sealInput({
      contractPublicKey: contractKey.publicKey,
      contractId: CONTRACT_ID,
      origin: ORIGIN,
      requester: PRIVATE_CHECK,
      endUser: ALICE,
      responseKey: toHex(aliceResponse.publicKey),
      input: JSON.stringify({ score: 700 }),
    });

  it('opens for Alice, whom the contract sees as ctx.origin.endUser', async () => {
    const job = jobOf(ALICE, aliceInput(), 0n);
    expect(contractOrigin(job)).toMatchObject({ requester: PRIVATE_CHECK, endUser: ALICE });
    const result = await enclave.execute(executeRequestOf(job));
    expect(result.status).toBe('ok');
    expect(toHex(result.publicOutput)).toBe(`0x${'00'.repeat(31)}01`);
    const detail = JSON.parse(
      new TextDecoder().decode(
        openEnvelope({
          recipientSecretKey: aliceResponse.secretKey,
          purpose: 'output',
          context: outputContext(fromHex(job.requestId)),
          envelope: result.sealedOutput,
        }),
      ),
    );
    expect(detail).toMatchObject({ passed: true, account: ALICE });
  });

  it("refuses Bob's copy of Alice's sealed input (EnvelopeOpenError: wrong context)", async () => {
    const sealed = aliceInput();
    const copied = jobOf(BOB, sealed, 1n);
    // The enclave tries every key it holds for the contract; none opens it for Bob.
    await expect(enclave.execute(executeRequestOf(copied))).rejects.toSatisfy(
      (e) => e instanceof EnclaveRefusalError && e.reason === 'input-unreadable',
    );
    // With the contract key itself: the context the worker builds for Bob fails authentication.
    const open = (endUser: Hex) =>
      openEnvelope({
        recipientSecretKey: contractKey.secretKey,
        purpose: 'request',
        context: requestContext(
          `evm-${ORIGIN.chainId}`,
          fromHex(PRIVATE_CHECK),
          fromHex(CONTRACT_ID),
          aliceResponse.publicKey,
          fromHex(endUser),
        ),
        envelope: fromHex(sealed),
      });
    expect(() => open(BOB)).toThrow(
      expect.objectContaining({ name: 'EnvelopeOpenError', reason: 'authentication-failed' }),
    );
    expect(() => open(BOB)).toThrow(EnvelopeOpenError);
    expect(new TextDecoder().decode(open(ALICE))).toBe('{"score":700}');
  });

  it('refuses a relayer that names Alice as the end user of Bob’s request (the request id covers it)', () => {
    const job = { ...jobOf(BOB, aliceInput(), 1n), endUser: ALICE };
    const context = {
      cluster: job.cluster,
      phalaGenesisHash: GATEWAY,
      xcmOriginIndex: null,
      evmGateways: null,
    };
    expect(expectedRequestId(job, context)).not.toBe(job.requestId);
  });
});
