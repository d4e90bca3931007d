import { copyFileSync, readFileSync } from 'node:fs';
import { hkdfSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { inspect } from 'node:util';
import { x25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, concatBytes, fromHex, toHex, u32be, utf8 } from '../../src/base/bytes.js';
import { InvalidInputError } from '../../src/base/errors.js';
import { EnvelopeOpenError } from '../../src/crypto/envelope.js';
import { blake2_256, sha256 } from '../../src/crypto/hash.js';
import { openKeyHandover, sealKeyHandover } from '../../src/crypto/key-handover.js';
import { ethereumAddress, generateKeyPair } from '../../src/crypto/keys.js';
import { recoverTypedSigner } from '../../src/crypto/proofs.js';
import { reportDataFor } from '../../src/crypto/report-data.js';
import { recoverPublicKeySubstrate } from '../../src/crypto/signatures.js';
import { masterKeyPayload, recoverPayloadSigner, workerApprovalPayload } from '../../src/phala/payloads.js';
import {
  decodeAttestationBundle,
  encodeAttestationBundle,
} from '../../src/gatekeeper/approvals/attestation-bundle.js';
import { chainMeasurementOf, judgeCandidate, reasonText } from '../../src/gatekeeper/approvals/judge.js';
import { parseAttestationPolicy } from '../../src/gatekeeper/attestation/index.js';
import { type GatekeeperEnclave, MASTER_KEYS_FILE } from '../../src/gatekeeper/enclave/enclave.js';
import { computeGatekeeperMeasurement } from '../../src/gatekeeper/enclave/measurement.js';
import { createGatekeeperPlatform } from '../../src/gatekeeper/enclave/platform.js';
import { GatekeeperRefusalError, MasterKeyUnsealError } from '../../src/gatekeeper/errors.js';
import { EvmSignatureCollector } from '../../src/gatekeeper/evm/collector.js';
import { sortAddresses } from '../../src/evm/gateway/registry.js';
import { evmMessageDigest } from '../../src/gatekeeper/evm/typed-data.js';
import {
  deriveContractPublicKey,
  deriveContractSecretKey,
  deriveMasterPublicKey,
} from '../../src/gatekeeper/keys/derive.js';
import { openMasterKeys, sealMasterKeys } from '../../src/gatekeeper/keys/master-key-handover.js';
import { MasterKeyRing } from '../../src/gatekeeper/keys/master-key-ring.js';
import {
  decodeEvmSignatureMessage,
  encodeEvmSignatureMessage,
} from '../../src/gatekeeper/messages/evm-signature-message.js';
import {
  decodeKeyHandoverMessage,
  encodeKeyHandoverMessage,
  handoversFor,
} from '../../src/protocol/key-handover-message.js';
import {
  decodeMasterKeyHandoverMessage,
  encodeMasterKeyHandoverMessage,
} from '../../src/gatekeeper/messages/master-key-handover-message.js';
import { Enclave, SimPlatform } from '../../src/pruntime/enclave/index.js';
import { IdentityUnsealError } from '../../src/pruntime/enclave/identity.js';
import { Sealer } from '../../src/pruntime/enclave/sealing.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import {
  IN_WINDOW,
  SGX_COLLATERAL,
  SGX_MRENCLAVE,
  SGX_QUOTE,
  TDX_COLLATERAL,
  TDX_MRTD,
  TDX_QUOTE,
  readCollateral,
  readQuote,
} from './attestation/vectors.js';
import {
  CA_KEY,
  CA_PUBLIC,
  GATEKEEPER_MEASUREMENT,
  PLATFORM_SECRET,
  WORKER_MEASUREMENT,
  openGatekeeperEnclave,
  removeTempDirs,
  tempDir,
} from './helpers.js';

/** The gatekeeper's keys, enclave and wire formats, without a chain (sim TEE: no SGX hardware). */

const GENESIS = new Uint8Array(32).fill(0x6e);
const GATEWAY = { chainId: 31337n, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const;
const CONTRACT = new Uint8Array(32).fill(0xc1);
const CLUSTER = new Uint8Array(32).fill(0xc7);
const devPolicy = { mode: 'development' as const, simPlatformCas: [CA_PUBLIC], quoteMaxAgeSeconds: 600 };

let engine: ContractEngine;

beforeAll(async () => {
  engine = await ContractEngine.start();
});
afterAll(async () => {
  await engine?.close();
  removeTempDirs();
});

function simWorkerPlatform(measurement: Hex = WORKER_MEASUREMENT, now?: () => bigint) {
  return new SimPlatform({
    platformSecret: PLATFORM_SECRET,
    platformCaKey: CA_KEY,
    measurement: fromHex(measurement),
    now,
  });
}

async function workerEnclave() {
  return Enclave.open({ dataDir: tempDir('w'), platform: simWorkerPlatform(), engine });
}

async function gatekeeperWithKey(): Promise<GatekeeperEnclave> {
  const enclave = await openGatekeeperEnclave(tempDir('gk'));
  await enclave.createMasterKey(0, GENESIS);
  return enclave;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('key derivation (PROTOCOL §3)', () => {
  it('contract key = HKDF-SHA256(masterKey(epoch), "phala-bridge/contract-key", contractId ‖ u32be(epoch)), as X25519', () => {
    const master = new Uint8Array(32).fill(0x11);
    const contractId = new Uint8Array(32).fill(0x22);
    // An independent construction: OpenSSL's HKDF, @noble's X25519.
    const expected = new Uint8Array(
      hkdfSync('sha256', master, utf8('phala-bridge/contract-key'), concatBytes(contractId, u32be(3)), 32),
    );
    expect(toHex(deriveContractSecretKey(master, contractId, 3))).toBe(toHex(expected));
    expect(toHex(deriveContractPublicKey(master, contractId, 3))).toBe(toHex(x25519.getPublicKey(expected)));
    // Pinned: this is the protocol, not just this implementation.
    expect(toHex(deriveContractSecretKey(master, contractId, 3))).toBe(
      toHex(
        new Uint8Array(
          hkdfSync(
            'sha256',
            master,
            'phala-bridge/contract-key',
            Buffer.from(`${'22'.repeat(32)}00000003`, 'hex'),
            32,
          ),
        ),
      ),
    );
    const others = [
      deriveContractPublicKey(master, contractId, 4),
      deriveContractPublicKey(master, new Uint8Array(32).fill(0x23), 3),
      deriveContractPublicKey(new Uint8Array(32).fill(0x12), contractId, 3),
    ].map(toHex);
    expect(new Set([...others, toHex(deriveContractPublicKey(master, contractId, 3))]).size).toBe(4);
    const masterPublic = new Uint8Array(
      hkdfSync('sha256', master, 'phala-bridge/master-public-key', u32be(3), 32),
    );
    expect(toHex(deriveMasterPublicKey(master, 3))).toBe(toHex(x25519.getPublicKey(masterPublic)));
    expect(() => deriveContractSecretKey(master, contractId, -1)).toThrow(InvalidInputError);
    expect(() => deriveContractSecretKey(master, contractId, 2 ** 32)).toThrow(InvalidInputError);
    expect(() => deriveContractSecretKey(master.subarray(1), contractId, 0)).toThrow(InvalidInputError);
  });

  it('the master key ring encodes, decodes and refuses anything else; it never prints a key', () => {
    const ring = new MasterKeyRing();
    ring.generate(0);
    ring.generate(2);
    expect(() => ring.generate(2)).toThrow(InvalidInputError);
    const encoded = ring.encode();
    expect(encoded.length).toBe(9 + 2 * 36);
    const copy = MasterKeyRing.decode(encoded);
    expect(copy.epochs()).toEqual([0, 2]);
    expect(toHex(copy.masterPublicKey(2))).toBe(toHex(ring.masterPublicKey(2)));
    expect(toHex(copy.contractKeyPair(CONTRACT, 0).publicKey)).toBe(
      toHex(ring.contractKeyPair(CONTRACT, 0).publicKey),
    );
    const bad = (mutate: (b: Uint8Array) => Uint8Array) => () =>
      MasterKeyRing.decode(mutate(new Uint8Array(encoded)));
    const set = (offset: number, bytes: Uint8Array) => (b: Uint8Array) => {
      b.set(bytes, offset);
      return b;
    };
    expect(bad(set(0, Uint8Array.of(0)))).toThrow(/bad magic/);
    expect(bad(set(4, Uint8Array.of(2)))).toThrow(/unsupported version/);
    expect(bad((b) => b.subarray(0, b.length - 1))).toThrow(/wrong length/);
    expect(bad(set(9, u32be(9)))).toThrow(/not ascending/);
    const key = toHex(encoded.subarray(13, 45)).slice(2);
    expect(JSON.stringify({ ring }) + inspect(ring, { showHidden: true, depth: 5 })).not.toContain(key);
    ring.forget(0);
    expect(ring.epochs()).toEqual([2]);
    expect(() => ring.masterPublicKey(0)).toThrow(InvalidInputError);
  });

  it('a given master key (seeded devnets) is held as generated ones are, and checked', () => {
    const given = new Uint8Array(32).fill(5);
    const ring = new MasterKeyRing();
    ring.insert(0, given);
    given.fill(0); // the ring keeps its own copy
    expect(toHex(ring.masterPublicKey(0))).toBe(toHex(deriveMasterPublicKey(new Uint8Array(32).fill(5), 0)));
    expect(toHex(MasterKeyRing.decode(ring.encode()).masterPublicKey(0))).toBe(
      toHex(ring.masterPublicKey(0)),
    );
    expect(() => ring.insert(0, new Uint8Array(32))).toThrow(InvalidInputError);
    expect(() => ring.insert(1, new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => ring.insert(-1, new Uint8Array(32))).toThrow(InvalidInputError);
  });
});

describe('master key handover between gatekeepers', () => {
  it('opens only for the recipient, the epoch and the master-key purpose', () => {
    const ring = new MasterKeyRing();
    ring.generate(0);
    ring.generate(1);
    const recipient = generateKeyPair('x25519');
    const envelope = sealMasterKeys(recipient.publicKey, ring, 1);
    const opened = openMasterKeys(recipient.secretKey, recipient.publicKey, 1, envelope);
    expect(opened.epochs()).toEqual([0, 1]);
    expect(toHex(opened.masterPublicKey(1))).toBe(toHex(ring.masterPublicKey(1)));
    const other = generateKeyPair('x25519');
    expect(() => openMasterKeys(other.secretKey, other.publicKey, 1, envelope)).toThrow(EnvelopeOpenError);
    expect(() => openMasterKeys(recipient.secretKey, recipient.publicKey, 0, envelope)).toThrow(
      EnvelopeOpenError,
    );
    // A worker's contract-key handover is not a master-key handover, nor the reverse.
    expect(() => openKeyHandover(recipient.secretKey, recipient.publicKey, 1, envelope)).toThrow(
      EnvelopeOpenError,
    );
    const contractHandover = sealKeyHandover(recipient.publicKey, {
      kind: 'contract',
      id: CONTRACT,
      epoch: 1,
      secretKey: generateKeyPair('x25519').secretKey,
    });
    expect(() => openMasterKeys(recipient.secretKey, recipient.publicKey, 1, contractHandover)).toThrow(
      EnvelopeOpenError,
    );
  });

  it('a gatekeeper hands the keys to a peer of the same build that proves its keys, and to no one else', async () => {
    const source = await gatekeeperWithKey();
    const peer = await openGatekeeperEnclave(tempDir('peer'));
    const chain = new Map([[0, source.masterPublicKey(0)]]);
    const request = {
      requester: peer.secp256k1PublicKey,
      requesterX25519: peer.x25519PublicKey,
      at: nowSeconds(),
    };
    const verdict = source.handOverMasterKeys({ ...request, attestation: await peer.quote() });
    if (!verdict.ok) throw new Error(verdict.reason);
    const message = decodeMasterKeyHandoverMessage(verdict.message);
    expect(toHex(message.recipient)).toBe(toHex(peer.secp256k1PublicKey));
    expect(await peer.receiveMasterKeys(message.epoch, message.envelope, chain)).toEqual([0]);
    expect(toHex(peer.contractPublicKey(CONTRACT, 0))).toBe(toHex(source.contractPublicKey(CONTRACT, 0)));

    // A quote of another build; a quote for other keys; a key the chain does not know.
    const otherBuild = await openGatekeeperEnclave(tempDir('other'), {
      measurement: new Uint8Array(32).fill(0x9b),
    });
    const refused = source.handOverMasterKeys({
      requester: otherBuild.secp256k1PublicKey,
      requesterX25519: otherBuild.x25519PublicKey,
      attestation: await otherBuild.quote(),
      at: nowSeconds(),
    });
    expect(refused).toMatchObject({ ok: false, reason: expect.stringMatching(/^MeasurementNotAllowed: /) });
    const borrowed = source.handOverMasterKeys({ ...request, attestation: await otherBuild.quote() });
    expect(borrowed.ok ? [] : borrowed.reasons.map((r) => r.code)).toEqual([
      'MeasurementNotAllowed',
      'ReportDataMismatch',
    ]);
    const stranger = await openGatekeeperEnclave(tempDir('stranger'));
    const toStranger = source.handOverMasterKeys({
      requester: stranger.secp256k1PublicKey,
      requesterX25519: stranger.x25519PublicKey,
      attestation: await stranger.quote(),
      at: nowSeconds(),
    });
    if (!toStranger.ok) throw new Error(toStranger.reason);
    const m = decodeMasterKeyHandoverMessage(toStranger.message);
    const wrongChain = new Map([[0, generateKeyPair('x25519').publicKey]]);
    await expect(stranger.receiveMasterKeys(m.epoch, m.envelope, wrongChain)).rejects.toMatchObject({
      reason: 'master-key-mismatch',
    });
    expect(stranger.epochs()).toEqual([]);
    // A handover to one gatekeeper does not open for another.
    await expect(peer.receiveMasterKeys(m.epoch, m.envelope, chain)).rejects.toBeInstanceOf(
      EnvelopeOpenError,
    );
  });
});

describe('gatekeeper enclave', () => {
  it('seals the master key at rest, bound to the measurement; another build cannot open it', async () => {
    const dir = tempDir('seal');
    const enclave = await openGatekeeperEnclave(dir);
    const made = await enclave.createMasterKey(0, GENESIS);
    expect(
      recoverPayloadSigner(
        masterKeyPayload({ genesisHash: GENESIS, publicKey: made.publicKey, epoch: 0n }),
        made.signature,
      ),
    ).toEqual(enclave.secp256k1PublicKey);
    await expect(enclave.createMasterKey(2, GENESIS)).rejects.toMatchObject({ reason: 'epoch-out-of-order' });
    await enclave.createMasterKey(1, GENESIS);
    const again = await openGatekeeperEnclave(dir);
    expect(again.createdIdentity).toBe(false);
    expect(again.epochs()).toEqual([0, 1]);
    expect(toHex(again.masterPublicKey(1))).toBe(toHex(enclave.masterPublicKey(1)));
    // The test knows the platform secret and measurement, so it can look inside: the file holds the
    // ring only sealed.
    const sealed = readFileSync(path.join(dir, MASTER_KEYS_FILE));
    const plaintext = Sealer.derive(PLATFORM_SECRET, GATEKEEPER_MEASUREMENT).open('master-keys', sealed);
    const ring = MasterKeyRing.decode(plaintext);
    expect(toHex(ring.masterPublicKey(0))).toBe(toHex(enclave.masterPublicKey(0)));
    expect(toHex(sealed)).not.toContain(toHex(plaintext.subarray(13, 45)).slice(2));
    // Another build: neither the identity nor the master keys open.
    await expect(
      openGatekeeperEnclave(dir, { measurement: new Uint8Array(32).fill(0x9b) }),
    ).rejects.toBeInstanceOf(IdentityUnsealError);
    const moved = tempDir('moved');
    copyFileSync(path.join(dir, MASTER_KEYS_FILE), path.join(moved, MASTER_KEYS_FILE));
    await expect(
      openGatekeeperEnclave(moved, { measurement: new Uint8Array(32).fill(0x9b) }),
    ).rejects.toBeInstanceOf(MasterKeyUnsealError);
    // Nothing secret in what the enclave shows the host.
    const shown = JSON.stringify(again) + inspect(again, { showHidden: true, depth: 6 });
    expect(shown).not.toContain(toHex(plaintext.subarray(13, 45)).slice(2));
    expect(again.toJSON().epochs).toEqual([0, 1]);
  });

  it('the sim measurement hashes the gatekeeper code; it changes with any measured file', () => {
    const a = computeGatekeeperMeasurement();
    expect(a.files.some((f) => f.path === 'src/gatekeeper/enclave/enclave.ts')).toBe(true);
    expect(a.files.some((f) => f.path === 'src/pruntime/enclave/sealing.ts')).toBe(true);
    expect(toHex(computeGatekeeperMeasurement().measurement)).toBe(toHex(a.measurement));
    const platform = createGatekeeperPlatform({
      provider: 'sim',
      platformCaKey: CA_KEY,
      platformSecret: PLATFORM_SECRET,
    });
    return platform.measurement().then((m) => expect(toHex(m)).toBe(toHex(a.measurement)));
  });

  it('approves a verified worker, hands it contract keys it can open, and signs its EVM registration', async () => {
    const gk = await gatekeeperWithKey();
    const worker = await workerEnclave();
    const wKey = fromHex(worker.publicIdentity.secp256k1);
    const wX = fromHex(worker.publicIdentity.x25519);
    // Not verified yet: no keys, no registration.
    expect(() => gk.sealContractKeys(wKey, [{ contractId: CONTRACT, epoch: 0 }])).toThrow(
      GatekeeperRefusalError,
    );
    const at = nowSeconds();
    const verdict = gk.judgeWorker({
      worker: wKey,
      x25519: wX,
      cluster: CLUSTER,
      attestation: await worker.quote(),
      registeredAt: 7,
      genesisHash: GENESIS,
      allowedMeasurements: [WORKER_MEASUREMENT],
      at,
      now: at,
    });
    if (!verdict.ok) throw new Error(verdict.reason);
    expect(verdict.measurement).toBe(WORKER_MEASUREMENT);
    expect(verdict.expiresAt).toBe(BigInt(at + 3600));
    const payload = workerApprovalPayload({
      genesisHash: GENESIS,
      worker: wKey,
      x25519: wX,
      cluster: CLUSTER,
      measurement: fromHex(WORKER_MEASUREMENT),
      expiresAt: verdict.expiresAt,
      registeredAt: 7,
    });
    expect(recoverPayloadSigner(payload, verdict.signature)).toEqual(gk.secp256k1PublicKey);

    const message = gk.sealContractKeys(wKey, [
      { contractId: CONTRACT, epoch: 0 },
      { contractId: new Uint8Array(32).fill(0xc2), epoch: 0 },
    ]);
    expect(handoversFor(message, generateKeyPair('secp256k1').publicKey, wX)).toEqual([]);
    const entries = handoversFor(message, wKey, wX);
    expect(entries).toHaveLength(2);
    for (const h of entries)
      await worker.receiveKeyHandover({
        envelope: h.envelope,
        epoch: h.epoch,
        expectedPublicKey: h.publicKey,
      });
    expect(worker.keys().map((k) => k.publicKey)).toContain(toHex(gk.contractPublicKey(CONTRACT, 0)));

    const registration = {
      worker: ethereumAddress(wKey),
      measurement: WORKER_MEASUREMENT,
      cluster: toHex(CLUSTER),
      expiresAt: verdict.expiresAt,
      epoch: 0n,
    };
    const [signed] = gk.signEvm({ kind: 'WorkerRegistration', message: registration }, [GATEWAY]);
    expect(
      recoverTypedSigner(
        evmMessageDigest(GATEWAY, { kind: 'WorkerRegistration', message: registration }),
        signed!.signature,
      ),
    ).toBe(gk.publicIdentity.address);
    for (const wrong of [
      { ...registration, measurement: toHex(new Uint8Array(32).fill(1)) },
      { ...registration, cluster: toHex(new Uint8Array(32).fill(1)) },
      { ...registration, expiresAt: verdict.expiresAt + 1n },
    ])
      expect(() => gk.signEvm({ kind: 'WorkerRegistration', message: wrong }, [GATEWAY])).toThrow(/refused/);
    expect(() =>
      gk.signEvm({ kind: 'WorkerRegistration', message: { ...registration, epoch: 5n } }, [GATEWAY]),
    ).toThrow(/refused/);
    const contractKey = toHex(gk.contractPublicKey(CONTRACT, 0));
    const contractRegistration = {
      contractId: toHex(CONTRACT),
      cluster: toHex(CLUSTER),
      publicKey: contractKey,
      epoch: 0n,
    };
    expect(
      gk.signEvm({ kind: 'ContractRegistration', message: contractRegistration }, [GATEWAY]),
    ).toHaveLength(1);
    expect(() =>
      gk.signEvm(
        {
          kind: 'ContractRegistration',
          message: { ...contractRegistration, publicKey: toHex(new Uint8Array(32).fill(9)) },
        },
        [GATEWAY],
      ),
    ).toThrow(/refused/);
    // Revoked: no more keys.
    gk.signWorkerRevocation({ genesisHash: GENESIS, worker: wKey, registeredAt: 7, reason: 'test' });
    expect(() => gk.sealContractKeys(wKey, [{ contractId: CONTRACT, epoch: 0 }])).toThrow(/refused/);
    await worker.close();
  });

  it('its transaction signer signs transactions with the identity account and refuses payload-shaped bytes', async () => {
    const gk = await gatekeeperWithKey();
    const signer = gk.transactionSigner(42);
    expect(toHex(signer.addressRaw)).toBe(toHex(blake2_256(gk.secp256k1PublicKey)));
    const data = randomBytes(120);
    data[1] = 0x05; // a pallet and call index, as a transaction's signing payload starts
    const signature = signer.sign(data, { withType: true });
    expect(signature[0]).toBe(2);
    expect(recoverPublicKeySubstrate(blake2_256(data), signature.subarray(1))).toEqual(gk.secp256k1PublicKey);
    const approval = masterKeyPayload({ genesisHash: GENESIS, publicKey: gk.masterPublicKey(0), epoch: 9n });
    expect(() => signer.sign(approval)).toThrow(GatekeeperRefusalError);
  });
});

describe('judging a registration', () => {
  const policy = parseAttestationPolicy(devPolicy);
  const worker = {
    secp256k1: generateKeyPair('secp256k1').publicKey,
    x25519: generateKeyPair('x25519').publicKey,
  };
  const base = { policy, allowedMeasurements: [WORKER_MEASUREMENT] as Hex[], registrationTtlSeconds: 60 };

  it('expires an approval that would end before now, and names every reason', async () => {
    const at = 1_700_000_000;
    const quote = await simWorkerPlatform(WORKER_MEASUREMENT, () => BigInt(at)).quote(
      reportDataFor(worker.secp256k1, worker.x25519),
    );
    const candidate = { ...worker, cluster: CLUSTER, attestation: quote };
    expect(judgeCandidate({ ...base, candidate, at, now: at + 30 })).toMatchObject({
      ok: true,
      expiresAt: BigInt(at + 60),
    });
    expect(judgeCandidate({ ...base, candidate, at, now: at + 60 })).toMatchObject({
      ok: false,
      reason: `RegistrationExpired: the approval would have expired at ${at + 60} (now ${at + 60})`,
    });
    const bad = judgeCandidate({
      ...base,
      candidate: { ...candidate, attestation: utf8('PBAT\x01') },
      at,
      now: at,
    });
    expect(bad).toMatchObject({ ok: false, reasons: [{ code: 'Malformed' }] });
    const garbage = judgeCandidate({
      ...base,
      candidate: { ...candidate, attestation: randomBytes(300) },
      at,
      now: at,
    });
    expect(garbage.ok).toBe(false);
    const badKey = judgeCandidate({
      ...base,
      candidate: { ...candidate, secp256k1: new Uint8Array(32) },
      at,
      now: at,
    });
    expect(badKey).toMatchObject({ ok: false, reasons: [{ code: 'InvalidKey' }] });
  });

  it('cuts reasons to 256 bytes of UTF-8 on a character boundary', () => {
    const text = reasonText([{ code: 'Malformed', detail: 'é'.repeat(300) }]);
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(256);
    expect(text.startsWith('Malformed: éé')).toBe(true);
    expect(text.endsWith('é')).toBe(true);
    expect(
      reasonText([
        { code: 'Expired', detail: 'a' },
        { code: 'UntrustedRoot', detail: 'b' },
      ]),
    ).toBe('Expired,UntrustedRoot: a');
  });

  it('names a TDX MRTD on chain as sha256(MRTD), an MRENCLAVE as itself', () => {
    expect(chainMeasurementOf(WORKER_MEASUREMENT)).toBe(WORKER_MEASUREMENT);
    expect(chainMeasurementOf(TDX_MRTD as Hex)).toBe(toHex(sha256(fromHex(TDX_MRTD))));
  });

  describe('real DCAP quotes', () => {
    it('judges a real SGX and TDX quote with collateral: measurement allowed, keys not bound', () => {
      const dcapPolicy = parseAttestationPolicy({
        acceptTcbStatuses: [
          'UpToDate',
          'SWHardeningNeeded',
          'ConfigurationAndSWHardeningNeeded',
          'OutOfDate',
        ],
      });
      const judge = (quote: Uint8Array, collateral: unknown, allowed: Hex[]) =>
        judgeCandidate({
          candidate: {
            ...worker,
            cluster: CLUSTER,
            attestation: encodeAttestationBundle(quote, collateral),
          },
          policy: dcapPolicy,
          allowedMeasurements: allowed,
          at: IN_WINDOW,
          now: IN_WINDOW,
          registrationTtlSeconds: 3600,
        });
      const sgx = judge(readQuote(SGX_QUOTE), readCollateral(SGX_COLLATERAL), [SGX_MRENCLAVE as Hex]);
      expect(sgx.ok ? [] : sgx.reasons.map((r) => r.code)).toEqual(['ReportDataMismatch']);
      expect(sgx.result?.tcbStatus).toBe('ConfigurationAndSWHardeningNeeded');
      // The chain lists a TDX quote by the id over MRTD, RTMR0–3 and the config fields
      // (docs/attestation.md#measurement-policy): the MRTD alone (sha256(MRTD)) no longer admits it.
      const mrtdOnly = judge(readQuote(TDX_QUOTE), readCollateral(TDX_COLLATERAL), [
        chainMeasurementOf(TDX_MRTD as Hex),
      ]);
      expect(mrtdOnly.ok ? [] : mrtdOnly.reasons.map((r) => r.code)).toEqual([
        'MeasurementNotAllowed',
        'ReportDataMismatch',
      ]);
      const tdxId = mrtdOnly.result?.measurementId as Hex;
      expect(tdxId).not.toBe(chainMeasurementOf(TDX_MRTD as Hex));
      const tdx = judge(readQuote(TDX_QUOTE), readCollateral(TDX_COLLATERAL), [tdxId]);
      expect(tdx.ok ? [] : tdx.reasons.map((r) => r.code)).toEqual(['ReportDataMismatch']);
      const notAllowed = judge(readQuote(TDX_QUOTE), readCollateral(TDX_COLLATERAL), [SGX_MRENCLAVE as Hex]);
      expect(notAllowed.ok ? [] : notAllowed.reasons.map((r) => r.code)).toEqual([
        'MeasurementNotAllowed',
        'ReportDataMismatch',
      ]);
      // Without collateral a DCAP quote cannot be judged.
      const bare = judgeCandidate({
        candidate: { ...worker, cluster: CLUSTER, attestation: readQuote(SGX_QUOTE) },
        policy: dcapPolicy,
        allowedMeasurements: [SGX_MRENCLAVE as Hex],
        at: IN_WINDOW,
        now: IN_WINDOW,
        registrationTtlSeconds: 3600,
      });
      expect(bare.ok ? [] : bare.reasons.map((r) => r.code)).toContain('MissingCollateral');
    });
  });
});

describe('wire formats', () => {
  it('attestation bundles carry a quote and its collateral; bare quotes pass through', () => {
    const quote = randomBytes(100);
    const collateral = { tcb_info: '{"a":1}', pck_crl: 'ab' };
    const decoded = decodeAttestationBundle(encodeAttestationBundle(quote, collateral));
    expect(toHex(decoded.quote)).toBe(toHex(quote));
    expect(decoded.collateral).toEqual(collateral);
    expect(decodeAttestationBundle(quote)).toEqual({ quote, collateral: undefined });
    const bundle = encodeAttestationBundle(quote, collateral);
    expect(() => decodeAttestationBundle(bundle.subarray(0, 20))).toThrow(InvalidInputError);
    const badJson = new Uint8Array(bundle);
    badJson[badJson.length - 1] = 0xff;
    expect(() => decodeAttestationBundle(badJson)).toThrow(/collateral is not UTF-8 JSON/);
  });

  it('key handover and master key messages round-trip; hostile bytes give InvalidInputError only', () => {
    const message = {
      worker: generateKeyPair('secp256k1').publicKey,
      workerX25519: generateKeyPair('x25519').publicKey,
      handovers: [
        {
          kind: 'contract' as const,
          id: CONTRACT,
          epoch: 3,
          publicKey: new Uint8Array(32).fill(2),
          envelope: randomBytes(147),
        },
        {
          kind: 'cluster' as const,
          id: CLUSTER,
          epoch: 4,
          publicKey: new Uint8Array(32).fill(3),
          envelope: randomBytes(10),
        },
      ],
    };
    const bytes = encodeKeyHandoverMessage(message);
    const decoded = decodeKeyHandoverMessage(bytes);
    expect(decoded.handovers.map((h) => [h.kind, h.epoch, h.envelope.length])).toEqual([
      ['contract', 3, 147],
      ['cluster', 4, 10],
    ]);
    expect(toHex(decoded.worker)).toBe(toHex(message.worker));
    const master = { recipient: message.worker, epoch: 9, envelope: new Uint8Array(randomBytes(90)) };
    expect(decodeMasterKeyHandoverMessage(encodeMasterKeyHandoverMessage(master))).toEqual(master);
    for (let i = 0; i < 300; i++) {
      const mutated = new Uint8Array(i % 2 ? bytes : encodeMasterKeyHandoverMessage(master));
      const cut = mutated.subarray(0, (i * 7919) % (mutated.length + 1));
      if (cut.length) cut[(i * 31) % cut.length]! ^= 1 << (i % 8);
      for (const decode of [decodeKeyHandoverMessage, decodeMasterKeyHandoverMessage]) {
        try {
          decode(cut);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidInputError);
        }
      }
    }
  });

  it('EVM signature messages: JSON with decimal integers, validated; the collector pools them by digest', async () => {
    const [a, b, c] = await Promise.all([gatekeeperWithKey(), gatekeeperWithKey(), gatekeeperWithKey()]);
    const update = {
      kind: 'GatekeeperSetUpdate' as const,
      message: {
        gatekeepers: sortAddresses([a, b, c].map((g) => g.publicIdentity.address)),
        threshold: 2,
        epoch: 0n,
      },
    };
    const payloads = [a, b].map((g) =>
      encodeEvmSignatureMessage({ ...update, signatures: g.signEvm(update, [GATEWAY]) }),
    );
    expect(JSON.parse(new TextDecoder().decode(payloads[0])).message.epoch).toBe('0');
    expect(decodeEvmSignatureMessage(payloads[0]!)).toMatchObject({
      kind: 'GatekeeperSetUpdate',
      message: update.message,
    });
    const collector = new EvmSignatureCollector();
    expect(collector.add(a.secp256k1PublicKey, payloads[0]!)).toEqual({ accepted: 1, rejected: [] });
    expect(collector.ready({ chainId: GATEWAY.chainId, gateway: GATEWAY.verifyingContract }, 2)).toEqual([]);
    // b's signature relayed as if c sent it: refused.
    expect(collector.add(c.secp256k1PublicKey, payloads[1]!).rejected).toHaveLength(1);
    expect(collector.add(b.secp256k1PublicKey, payloads[1]!).accepted).toBe(1);
    const [ready] = collector.ready({ chainId: GATEWAY.chainId, gateway: GATEWAY.verifyingContract }, 2);
    expect(ready?.signers).toEqual(sortAddresses([a, b].map((g) => g.publicIdentity.address)));
    expect(ready?.signatures.map((s) => recoverTypedSigner(ready.digest, s))).toEqual(ready?.signers);
    // Another gateway has none; hostile payloads are reported, not thrown.
    expect(collector.ready({ chainId: 1n, gateway: GATEWAY.verifyingContract }, 1)).toEqual([]);
    expect(collector.add(a.secp256k1PublicKey, utf8('{"v":2}')).rejected[0]).toMatch(/EVM signature message/);
    expect(collector.add(a.secp256k1PublicKey, new Uint8Array([0xff])).rejected[0]).toMatch(/UTF-8 JSON/);
    expect(() =>
      decodeEvmSignatureMessage(
        utf8(
          JSON.stringify({
            v: 1,
            kind: 'WorkerRevocation',
            message: { worker: GATEWAY.verifyingContract, revokeUpTo: '18446744073709551616', epoch: '0' },
            signatures: [],
          }),
        ),
      ),
    ).toThrow(InvalidInputError);
    collector.forget({ chainId: GATEWAY.chainId, gateway: GATEWAY.verifyingContract }, ready!.digest);
    expect(collector.size).toBe(0);
  });
});
