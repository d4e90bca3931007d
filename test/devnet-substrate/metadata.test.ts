import { Metadata, TypeRegistry } from '@polkadot/types';
import { u8aToHex } from '@polkadot/util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChainSpec } from '../../src/devnet/substrate/chain/chain.js';
import { phalaChainSpec } from '../../src/devnet/substrate/chains/phala.js';
import { DispatchFailure } from '../../src/devnet/substrate/runtime/errors.js';
import type { Runtime } from '../../src/devnet/substrate/runtime/runtime.js';
import { DispatchError, DispatchInfo, Header } from '../../src/devnet/substrate/runtime/types.js';
import { t } from '../../src/devnet/substrate/scale/ty.js';

/**
 * The generated metadata as polkadot-js reads it: the Rust paths it keys behaviour on, the
 * extrinsic and signed extensions, outer enums, storage, constants, errors; and plain values
 * encoded by the runtime decoding to the same values in polkadot-js.
 */

let spec: ChainSpec;
let runtime: Runtime;
let registry: TypeRegistry;
let v14: Metadata;
let v15: Metadata;

beforeAll(async () => {
  spec = await phalaChainSpec();
  runtime = spec.runtime;
  registry = new TypeRegistry();
  v14 = new Metadata(registry, runtime.metadata.v14);
  v15 = new Metadata(new TypeRegistry(), runtime.metadata.v15);
  registry.setMetadata(v14);
});

function pathsOf(md: Metadata): string[] {
  return md.asLatest.lookup.types.map((x) => x.type.path.join('::'));
}

describe('metadata', () => {
  it('is V14 and V15 with the same types and pallets', () => {
    expect(v14.version).toBe(14);
    expect(v15.version).toBe(15);
    expect(pathsOf(v14)).toEqual(pathsOf(v15));
    expect(v15.asV15.pallets.map((p) => [p.name.toString(), p.index.toNumber()])).toEqual([
      ['System', 0],
      ['Timestamp', 1],
      ['Balances', 2],
      ['TransactionPayment', 3],
      ['Sudo', 4],
      ['PhalaRegistry', 40],
      ['PhalaMq', 41],
      ['PhalaContracts', 42],
    ]);
  });

  it('uses the Rust paths polkadot-js relies on', () => {
    const paths = pathsOf(v15);
    expect(paths[0]).toBe('sp_core::crypto::AccountId32');
    for (const p of [
      'sp_runtime::multiaddress::MultiAddress',
      'sp_runtime::MultiSignature',
      'sp_runtime::DispatchError',
      'sp_runtime::ModuleError',
      'sp_runtime::generic::era::Era',
      'sp_runtime::generic::digest::Digest',
      'sp_runtime::generic::digest::DigestItem',
      'sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic',
      'sp_weights::weight_v2::Weight',
      'frame_system::EventRecord',
      'frame_system::Phase',
      'frame_system::AccountInfo',
      'frame_support::dispatch::DispatchInfo',
      'frame_support::dispatch::DispatchClass',
      'frame_support::dispatch::Pays',
      'primitive_types::H256',
      'phala_devnet_runtime::RuntimeCall',
      'phala_devnet_runtime::RuntimeEvent',
      'phala_devnet_runtime::RuntimeError',
      'phala_devnet_runtime::Runtime',
    ]) {
      expect(paths, p).toContain(p);
    }
    const unchecked = v15.asV15.lookup.types.find(
      (x) => x.type.path.join('::') === 'sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic',
    )!;
    expect(unchecked.type.params.map((p) => p.name.toString())).toEqual([
      'Address',
      'Call',
      'Signature',
      'Extra',
    ]);
  });

  it('declares the extrinsic, its signed extensions and the outer enums', () => {
    const ext = v15.asV15.extrinsic;
    expect(ext.version.toNumber()).toBe(4);
    expect(ext.signedExtensions.map((e) => e.identifier.toString())).toEqual([
      'CheckNonZeroSender',
      'CheckSpecVersion',
      'CheckTxVersion',
      'CheckGenesis',
      'CheckMortality',
      'CheckNonce',
      'CheckWeight',
      'ChargeTransactionPayment',
    ]);
    const lookup = v15.asV15.lookup;
    const pathOf = (id: { toNumber(): number }) => lookup.types[id.toNumber()]!.type.path.join('::');
    expect(pathOf(ext.addressType)).toBe('sp_runtime::multiaddress::MultiAddress');
    expect(pathOf(ext.signatureType)).toBe('sp_runtime::MultiSignature');
    expect(pathOf(v15.asV15.outerEnums.callType)).toBe('phala_devnet_runtime::RuntimeCall');
    expect(pathOf(v15.asV15.outerEnums.eventType)).toBe('phala_devnet_runtime::RuntimeEvent');
    expect(pathOf(v15.asV15.outerEnums.errorType)).toBe('phala_devnet_runtime::RuntimeError');
    expect(v15.asV15.apis.map((a) => a.name.toString())).toEqual([
      'Core',
      'Metadata',
      'TaggedTransactionQueue',
      'AccountNonceApi',
      'TransactionPaymentApi',
    ]);
  });

  it('names storage, calls, events and errors as FRAME does (snake_case fields, PascalCase items)', () => {
    const registryPallet = v15.asV15.pallets.find((p) => p.name.toString() === 'PhalaRegistry')!;
    const items = registryPallet.storage.unwrap().items.map((i) => i.name.toString());
    expect(items).toEqual(
      expect.arrayContaining([
        'Gatekeepers',
        'AllowedMeasurements',
        'Workers',
        'WorkerApprovals',
        'MasterKey',
        'ContractKeys',
      ]),
    );
    const system = v15.asV15.pallets.find((p) => p.name.toString() === 'System')!;
    const account = system.storage.unwrap().items.find((i) => i.name.toString() === 'Account')!;
    expect(account.type.asMap.hashers.map((h) => h.type)).toEqual(['Blake2_128Concat']);
    const calls = registry.lookup.getSiType(registryPallet.calls.unwrap().type);
    const register = calls.def.asVariant.variants.find((v) => v.name.toString() === 'register_worker')!;
    expect(register.fields.map((f) => f.name.unwrap().toString())).toEqual([
      'secp256k1',
      'x25519',
      'cluster',
      'attestation',
    ]);
    expect(register.index.toNumber()).toBe(5);
    const events = registry.lookup.getSiType(system.events.unwrap().type);
    const failed = events.def.asVariant.variants.find((v) => v.name.toString() === 'ExtrinsicFailed')!;
    expect(failed.fields.map((f) => f.name.unwrap().toString())).toEqual(['dispatch_error', 'dispatch_info']);
  });

  it('turns every pallet error into a Module error polkadot-js names', () => {
    let checked = 0;
    for (const { pallet } of runtime.pallets) {
      for (const name of pallet.errors?.names ?? []) {
        const error = runtime.dispatchError(DispatchFailure.module(pallet.name, name));
        const encoded = runtime.codec.encode(DispatchError, error);
        const decoded = registry.createType('DispatchError', encoded) as unknown as {
          isModule: boolean;
          asModule: Parameters<TypeRegistry['findMetaError']>[0];
        };
        expect(decoded.isModule).toBe(true);
        const meta = registry.findMetaError(decoded.asModule);
        expect(`${meta.section}.${meta.name}`).toBe(
          `${pallet.name.charAt(0).toLowerCase()}${pallet.name.slice(1)}.${name}`,
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('encodes constants polkadot-js decodes', () => {
    const balances = v15.asV15.pallets.find((p) => p.name.toString() === 'Balances')!;
    const ed = balances.constants.find((c) => c.name.toString() === 'ExistentialDeposit')!;
    expect(registry.createType('u128', ed.value).toBigInt()).toBe(10n ** 10n);
  });
});

describe('runtime codec', () => {
  it('round-trips plain values through polkadot-js', () => {
    const info = {
      weight: { refTime: 5n, proofSize: 7n },
      class: { tag: 'Operational' as const },
      paysFee: { tag: 'No' as const },
    };
    const bytes = runtime.codec.encode(DispatchInfo, info);
    const viaPolkadot = registry
      .createType(registry.createLookupType(runtime.codec.typeId(DispatchInfo)), bytes)
      .toJSON();
    expect(viaPolkadot).toEqual({
      weight: { refTime: 5, proofSize: 7 },
      class: 'Operational',
      paysFee: 'No',
    });
    expect(runtime.codec.decode(DispatchInfo, bytes)).toEqual(info);
    const header = {
      parentHash: new Uint8Array(32).fill(1),
      number: 77,
      stateRoot: new Uint8Array(32).fill(2),
      extrinsicsRoot: new Uint8Array(32).fill(3),
      digest: {
        logs: [
          {
            tag: 'PreRuntime' as const,
            value: [new TextEncoder().encode('aura'), Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)] as [
              Uint8Array,
              Uint8Array,
            ],
          },
        ],
      },
    };
    const encoded = runtime.codec.encode(Header, header);
    const pjs = registry.createType('Header', encoded);
    expect(pjs.number.toNumber()).toBe(77);
    expect(pjs.digest.logs[0]!.asPreRuntime[0].toString()).toBe('aura');
    expect(runtime.codec.decode(Header, encoded)).toEqual(header);
  });

  it('refuses types that are not in the metadata', () => {
    expect(() => runtime.codec.encode(t.tuple(t.u8, t.str, t.u64), [1, 'x', 2n])).toThrow(
      /not in the runtime's metadata/,
    );
  });

  it('decodes the RuntimeCall it encodes, and refuses unknown variants', () => {
    const call = runtime.call('Balances', 'transferKeepAlive', {
      dest: { tag: 'Id', value: new Uint8Array(32) },
      value: 5n,
    });
    const bytes = runtime.encodeCall(call);
    expect(u8aToHex(bytes.subarray(0, 2))).toBe('0x0203');
    expect(runtime.decodeCall(bytes)).toEqual({
      tag: 'Balances',
      value: {
        tag: 'transfer_keep_alive',
        value: { dest: { tag: 'Id', value: new Uint8Array(32) }, value: 5n },
      },
    });
    expect(() => runtime.decodeCall(Uint8Array.of(0xee, 0))).toThrow(/variant doesn't exist/);
    expect(() => runtime.decodeCall(Uint8Array.of(2, 0xee))).toThrow();
  });
});
