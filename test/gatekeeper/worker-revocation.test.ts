import { describe, expect, it } from 'vitest';
import { type Hex, toHex, utf8 } from '../../src/base/bytes.js';
import { InvalidInputError } from '../../src/base/errors.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import {
  decodeWorkerRevocationMessage,
  encodeWorkerRevocationMessage,
  workerRevocationSigner,
} from '../../src/gatekeeper/messages/worker-revocation-message.js';
import { WorkerRevocationCollector } from '../../src/gatekeeper/sibling/revocation-collector.js';
import { signPayload, workerRevocationPayload } from '../../src/phala/payloads.js';

/** The sibling revocation message and its collector, with real secp256k1 signatures. */
const genesis = new Uint8Array(32).fill(7);
const worker = generateKeyPair('secp256k1');
const cluster = toHex(new Uint8Array(32).fill(3));
const gatekeepers = [
  generateKeyPair('secp256k1'),
  generateKeyPair('secp256k1'),
  generateKeyPair('secp256k1'),
];

function signed(by: { secretKey: Uint8Array }, registeredAt = 12, reason = 'Governance: compromised') {
  const signature = signPayload(
    workerRevocationPayload({
      genesisHash: genesis,
      worker: worker.publicKey,
      registeredAt,
      reason: utf8(reason),
    }),
    by.secretKey,
  );
  return encodeWorkerRevocationMessage({
    worker: toHex(worker.publicKey),
    cluster,
    registeredAt,
    reason,
    signature: toHex(signature),
  });
}

describe('worker revocation message', () => {
  it('round-trips and names its signer', () => {
    const message = decodeWorkerRevocationMessage(signed(gatekeepers[0]!));
    expect(message).toMatchObject({ worker: toHex(worker.publicKey), cluster, registeredAt: 12 });
    expect(workerRevocationSigner(genesis, message)).toBe(toHex(gatekeepers[0]!.publicKey));
    // Bound to the chain: the same signature names someone else under another genesis.
    expect(workerRevocationSigner(new Uint8Array(32), message)).not.toBe(toHex(gatekeepers[0]!.publicKey));
  });

  it('refuses malformed payloads with InvalidInputError', () => {
    const good = JSON.parse(new TextDecoder().decode(signed(gatekeepers[0]!))) as Record<string, unknown>;
    for (const bad of [
      utf8('not json'),
      Uint8Array.of(0xff, 0xfe),
      utf8(JSON.stringify({ ...good, v: 2 })),
      utf8(JSON.stringify({ ...good, worker: '0x1234' })),
      utf8(JSON.stringify({ ...good, registeredAt: -1 })),
      utf8(JSON.stringify({ ...good, extra: 1 })),
      utf8(JSON.stringify({ ...good, reason: 'x'.repeat(2_000) })),
    ])
      expect(() => decodeWorkerRevocationMessage(bad)).toThrow(InvalidInputError);
  });
});

describe('WorkerRevocationCollector', () => {
  it('pools signatures by revocation, counts only the sender’s own, and is ready at the threshold', () => {
    const c = new WorkerRevocationCollector(genesis);
    const keys = gatekeepers.map((g) => toHex(g.publicKey));
    // Sent by gatekeeper 1 but signed by gatekeeper 0: refused.
    expect(c.add(gatekeepers[1]!.publicKey, signed(gatekeepers[0]!))).toEqual({
      rejected: expect.stringMatching(/not signed by/),
    });
    expect(c.add(gatekeepers[0]!.publicKey, utf8('{}'))).toEqual({ rejected: expect.any(String) });
    const id = c.add(gatekeepers[0]!.publicKey, signed(gatekeepers[0]!));
    expect(typeof id).toBe('string');
    expect(c.ready(2, keys)).toEqual([]);
    expect(c.add(gatekeepers[2]!.publicKey, signed(gatekeepers[2]!))).toBe(id);
    // Another registration or reason is another revocation.
    c.add(gatekeepers[1]!.publicKey, signed(gatekeepers[1]!, 13));
    const ready = c.ready(2, keys);
    expect(ready).toHaveLength(1);
    expect(ready[0]!.signers).toEqual([keys[0], keys[2]].sort());
    expect(ready[0]!.signatures).toHaveLength(2);
    // Signers outside the given set do not count.
    expect(c.ready(2, [keys[0]!] as Hex[])).toEqual([]);
    c.forget(ready[0]!.id);
    expect(c.ready(1, keys).map((r) => r.registeredAt)).toEqual([13]);
  });
});
