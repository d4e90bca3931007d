import { Metadata, TypeRegistry } from '@polkadot/types';
import { u8aToHex } from '@polkadot/util';
import type { Pallet, RuntimeApi, StorageItemMetadata } from '../runtime/pallet.js';
import { ScaleCodec } from '../scale/codec.js';
import type { AnyTy } from '../scale/ty.js';
import type { PortableRegistryBuilder } from './portable-registry.js';

/**
 * Runtime metadata V14 and V15 generated from the pallets' own declarations and encoded by
 * @polkadot/types (`RuntimeMetadataPrefixed`, magic "meta" + version).
 */

export type MetadataInput = {
  types: PortableRegistryBuilder;
  pallets: { index: number; pallet: Pallet }[];
  outer: { call: AnyTy; event: AnyTy; error: AnyTy };
  runtimeTy: AnyTy;
  extrinsic: {
    uncheckedTy: AnyTy;
    addressTy: AnyTy;
    callTy: AnyTy;
    signatureTy: AnyTy;
    extraTy: AnyTy;
    signedExtensions: { identifier: string; type: AnyTy; additionalSigned: AnyTy }[];
  };
  apis: RuntimeApi[];
  constantValue(pallet: string, name: string): unknown;
};

export type BuiltMetadata = { v14: Uint8Array; v15: Uint8Array };

const MAGIC = 0x6174656d; // "meta"

export function buildMetadata(input: MetadataInput): BuiltMetadata {
  const { types } = input;
  const id = (ty: AnyTy) => types.idOf(ty);

  // Register every type first so the lookup is complete before anything is encoded.
  const storageOf = (item: StorageItemMetadata) => {
    if (item.type.kind === 'plain') return { Plain: id(item.type.value) };
    return { Map: { hashers: item.type.hashers, key: id(item.type.key), value: id(item.type.value) } };
  };
  const palletParts = input.pallets.map(({ index, pallet }) => ({
    index,
    pallet,
    storage: pallet.storage.map((s) => {
      const meta = s.metadata();
      return { meta, type: storageOf(meta) };
    }),
    calls: pallet.callTy ? id(pallet.callTy) : null,
    events: pallet.events ? id(pallet.events.ty) : null,
    errors: pallet.errors ? id(pallet.errors.ty) : null,
    constants: pallet.constants.map((c) => ({ ...c, typeId: id(c.type) })),
  }));
  const outer = {
    callType: id(input.outer.call),
    eventType: id(input.outer.event),
    errorType: id(input.outer.error),
  };
  const runtimeType = id(input.runtimeTy);
  const ext = input.extrinsic;
  const extrinsicIds = {
    unchecked: id(ext.uncheckedTy),
    address: id(ext.addressTy),
    call: id(ext.callTy),
    signature: id(ext.signatureTy),
    extra: id(ext.extraTy),
    signedExtensions: ext.signedExtensions.map((e) => ({
      identifier: e.identifier,
      type: id(e.type),
      additionalSigned: id(e.additionalSigned),
    })),
  };
  const apis = input.apis.map((api) => ({
    name: api.name,
    methods: Object.entries(api.methods).map(([name, m]) => ({
      name,
      inputs: m.inputs.map((i) => ({ name: i.name, type: id(i.type) })),
      output: id(m.output),
      docs: m.docs ?? [],
    })),
    docs: api.docs ?? [],
  }));

  // Constants and storage defaults are SCALE values of types in this very lookup.
  const lookupRegistry = new TypeRegistry();
  const lookup = lookupRegistry.createType('PortableRegistry', { types: types.types() });
  lookupRegistry.setLookup(lookup as never);
  const codec = new ScaleCodec(lookupRegistry, types);
  const env = { codec };

  const pallets = palletParts.map((p) => ({
    name: p.pallet.name,
    storage: p.storage.length
      ? {
          prefix: p.pallet.name,
          items: p.storage.map(({ meta, type }) => ({
            name: meta.name,
            modifier: meta.modifier,
            type,
            fallback: u8aToHex(meta.fallback(env)),
            docs: meta.docs,
          })),
        }
      : null,
    calls: p.calls === null ? null : { type: p.calls },
    events: p.events === null ? null : { type: p.events },
    constants: p.constants.map((c) => ({
      name: c.name,
      type: c.typeId,
      value: u8aToHex(codec.encode(c.type, input.constantValue(p.pallet.name, c.name))),
      docs: c.docs,
    })),
    errors: p.errors === null ? null : { type: p.errors },
    index: p.index,
    docs: p.pallet.docs,
  }));

  const typesJson = types.types();
  const v14 = {
    lookup: { types: typesJson },
    pallets: pallets.map(({ docs: _docs, ...rest }) => rest),
    extrinsic: { type: extrinsicIds.unchecked, version: 4, signedExtensions: extrinsicIds.signedExtensions },
    type: runtimeType,
  };
  const v15 = {
    lookup: { types: typesJson },
    pallets,
    extrinsic: {
      version: 4,
      addressType: extrinsicIds.address,
      callType: extrinsicIds.call,
      signatureType: extrinsicIds.signature,
      extraType: extrinsicIds.extra,
      signedExtensions: extrinsicIds.signedExtensions,
    },
    type: runtimeType,
    apis,
    outerEnums: outer,
    custom: { map: {} },
  };
  const registry = new TypeRegistry();
  const encode = (version: 'V14' | 'V15', body: unknown) =>
    new Metadata(registry, { magicNumber: MAGIC, metadata: { [version]: body } } as never).toU8a();
  return { v14: encode('V14', v14), v15: encode('V15', v15) };
}
