import { TypeRegistry } from '@polkadot/types';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/base/errors.js';
import { generateIdentity } from '../../src/crypto/keys.js';
import {
  ChainDataError,
  TransactionRejectedError,
  codeHashOf,
  contractIdOf,
  parsePhalaEvent,
  plainOf,
  recoverPayloadSigner,
  rejectionOf,
  requestIdOf,
  signPayload,
  workerApprovalPayload,
} from '../../src/phala/index.js';

/** The client's parsing of chain data and RPC errors, and its payloads, without a node. */

describe('plainOf', () => {
  const registry = new TypeRegistry();
  it('gives runtime-independent plain values', () => {
    expect(plainOf(registry.createType('u32', 7))).toBe(7);
    expect(plainOf(registry.createType('u128', 2n ** 100n))).toBe((2n ** 100n).toString());
    expect(plainOf(registry.createType('Bytes', '0x0102'))).toBe('0x0102');
    expect(plainOf(registry.createType('Option<u8>', null))).toBeNull();
    expect(plainOf(registry.createType('Option<u8>', 3))).toBe(3);
    expect(plainOf(registry.createType('(u8, bool, Text)', [1, true, 'hi']))).toEqual([1, true, 'hi']);
    registry.register({ Thing: { _enum: { Unit: null, Wrapped: 'u16', Named: { aField: 'u8' } } } } as never);
    expect(plainOf(registry.createType('Thing', 'Unit'))).toBe('Unit');
    expect(plainOf(registry.createType('Thing', { Wrapped: 9 }))).toEqual({ Wrapped: 9 });
    expect(plainOf(registry.createType('Thing', { Named: { aField: 2 } }))).toEqual({
      Named: { aField: 2 },
    });
  });
});

describe('parsePhalaEvent', () => {
  const hash = `0x${'11'.repeat(32)}`;
  it('types the events of the Phala pallets and ignores others', () => {
    const parsed = parsePhalaEvent({
      pallet: 'PhalaContracts',
      name: 'RequestSubmitted',
      fields: {
        requestId: hash,
        origin: { Signed: hash },
        contractId: hash,
        sealedInput: '0xabcd',
        responseKey: hash,
        deadline: 12,
        nonce: '5',
      },
    });
    expect(parsed).toEqual({
      pallet: 'PhalaContracts',
      type: 'RequestSubmitted',
      requestId: hash,
      origin: { kind: 'signed', account: hash },
      contractId: hash,
      sealedInput: '0xabcd',
      responseKey: hash,
      deadline: 12,
      nonce: 5n,
    });
    expect(parsePhalaEvent({ pallet: 'Balances', name: 'Transfer', fields: {} })).toBeNull();
  });

  it('refuses chain data of the wrong shape with a ChainDataError', () => {
    expect(() =>
      parsePhalaEvent({ pallet: 'PhalaContracts', name: 'RequestFulfilled', fields: { requestId: '0x12' } }),
    ).toThrow(ChainDataError);
    expect(() => parsePhalaEvent({ pallet: 'PhalaMq', name: 'NoSuchEvent', fields: {} })).toThrow(
      ChainDataError,
    );
    expect(() =>
      parsePhalaEvent({
        pallet: 'PhalaRegistry',
        name: 'WorkerApproved',
        fields: { worker: `0x02${'22'.repeat(32)}`, cluster: hash, measurement: hash, expiresAt: '-1' },
      }),
    ).toThrow(ChainDataError);
  });
});

describe('rejectionOf', () => {
  it('reads the code and reason of an author RPC error', () => {
    const error = Object.assign(new Error('1010: Invalid Transaction: Transaction is outdated'), {
      code: 1010,
    });
    const rejected = rejectionOf(error);
    expect(rejected).toBeInstanceOf(TransactionRejectedError);
    expect(rejected.code).toBe(1010);
    expect(rejected.reason).toBe('Invalid Transaction: Transaction is outdated');
    expect(rejected.nonceProblem).toBe(true);
    expect(rejectionOf(new Error('socket closed')).code).toBeNull();
  });
});

describe('ids and payloads', () => {
  it('computes ids from their definitions', () => {
    const code = new TextEncoder().encode('code');
    expect(codeHashOf(code)).toHaveLength(32);
    const id = contractIdOf(new Uint8Array(32), codeHashOf(code), Uint8Array.of(1));
    expect(id).not.toEqual(contractIdOf(new Uint8Array(32), codeHashOf(code), Uint8Array.of(2)));
    const a = requestIdOf({ kind: 'signed', account: new Uint8Array(32) }, 0n, id, Uint8Array.of(1));
    const b = requestIdOf({ kind: 'signed', account: new Uint8Array(32) }, 1n, id, Uint8Array.of(1));
    expect(a).not.toEqual(b);
    expect(() => contractIdOf(new Uint8Array(31), codeHashOf(code), Uint8Array.of())).toThrow(
      InvalidInputError,
    );
  });

  it('signs payloads that recover to the signer, bound to the genesis hash', () => {
    const gatekeeper = generateIdentity();
    const approval = {
      genesisHash: new Uint8Array(32).fill(1),
      worker: new Uint8Array(33).fill(2),
      x25519: new Uint8Array(32).fill(3),
      cluster: new Uint8Array(32).fill(4),
      measurement: new Uint8Array(32).fill(5),
      expiresAt: 1_900_000_000n,
      registeredAt: 7,
    };
    const signature = signPayload(workerApprovalPayload(approval), gatekeeper.signing.secretKey);
    expect(recoverPayloadSigner(workerApprovalPayload(approval), signature)).toEqual(
      gatekeeper.signing.publicKey,
    );
    const otherChain = workerApprovalPayload({ ...approval, genesisHash: new Uint8Array(32).fill(9) });
    expect(recoverPayloadSigner(otherChain, signature)).not.toEqual(gatekeeper.signing.publicKey);
    expect(() => workerApprovalPayload({ ...approval, worker: new Uint8Array(32) })).toThrow(
      InvalidInputError,
    );
    expect(() => workerApprovalPayload({ ...approval, expiresAt: -1n })).toThrow(InvalidInputError);
  });
});
