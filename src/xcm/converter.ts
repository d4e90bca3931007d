import { XcmConversionError } from './errors.js';
import {
  integerJson,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseInteger,
  readFields,
  readVariant,
  writeFields,
  writeVariant,
} from './json.js';
import { MAX_TYPE_DEPTH } from './limits.js';
import type { Field, TypeNode, TypeTable, Variant } from './type-table.js';

type VariantNode = Extract<TypeNode, { kind: 'variant' }>;
type CompositeNode = Extract<TypeNode, { kind: 'composite' }>;

/**
 * Converts the JSON of one XCM version's type into the next version's, walking both versions'
 * type tables side by side: variants and fields are matched by name, and the places where the
 * versions really differ are rules taken from polkadot-sdk's `TryFrom` impls (xcm crate
 * v3/v4/v5 mod.rs, junction.rs, asset.rs). Anything without an equivalent fails with the path.
 * Written here because no JS library converts XCM between versions.
 */
export class Converter {
  constructor(
    readonly src: TypeTable,
    readonly dst: TypeTable,
    readonly from: number,
    readonly to: number,
  ) {}

  fail(path: string, reason: string): never {
    throw new XcmConversionError(this.from, this.to, path, reason);
  }

  convert(srcId: number, dstId: number, value: unknown, path: string, depth = 0): JsonValue {
    if (depth > MAX_TYPE_DEPTH) this.fail(path, 'nested too deeply');
    const s = this.src.get(srcId);
    const d = this.dst.get(dstId);
    const rule = RULES[`${s.key}->${d.key}`];
    if (rule) {
      const out = rule(this, s, d, value, path, depth);
      if (out !== undefined) return out;
    }
    return this.generic(s, d, value, path, depth);
  }

  generic(s: TypeNode, d: TypeNode, value: unknown, path: string, depth: number): JsonValue {
    if (
      (s.kind === 'primitive' || s.kind === 'compact') &&
      (d.kind === 'primitive' || d.kind === 'compact')
    ) {
      if (s.prim !== d.prim) this.fail(path, `${s.key} and ${d.key} differ`);
      return value as JsonValue;
    }
    if (s.kind === 'composite' && d.kind === 'composite') {
      return this.fields(s.fields, d.fields, value, path, depth);
    }
    if (s.kind === 'variant' && d.kind === 'variant') {
      if (s.option && d.option) {
        if (value === null || value === undefined) return null;
        return this.convert(
          s.variants[1]!.fields[0]!.type,
          d.variants[1]!.fields[0]!.type,
          value,
          path,
          depth + 1,
        );
      }
      const { variant, payload } = this.readVariant(s, value, path);
      const target = d.byName.get(variant.name.toLowerCase());
      if (!target) this.fail(`${path}.${variant.camel}`, `${variant.name} has no XCM V${this.to} equivalent`);
      return writeVariant(
        d,
        target,
        this.fields(variant.fields, target.fields, payload, `${path}.${variant.camel}`, depth),
      );
    }
    if ((s.kind === 'sequence' || s.kind === 'array') && s.kind === d.kind) {
      if (s.kind === 'array' && d.kind === 'array' && s.len !== d.len)
        this.fail(path, `length ${s.len} ≠ ${d.len}`);
      if (typeof value === 'string') return value; // bytes as hex
      if (!Array.isArray(value)) this.fail(path, 'expected an array');
      return value.map((v, i) => this.convert(s.elem, d.elem, v, `${path}[${i}]`, depth + 1));
    }
    if (s.kind === 'tuple' && d.kind === 'tuple' && s.elems.length === d.elems.length) {
      if (s.elems.length === 0) return null;
      if (!Array.isArray(value)) this.fail(path, 'expected an array');
      return value.map((v, i) => this.convert(s.elems[i]!, d.elems[i]!, v, `${path}[${i}]`, depth + 1));
    }
    return this.fail(path, `no conversion from ${s.key} to ${d.key}`);
  }

  /** Field lists matched by name, by position, or as N fields ↔ one [T; N] (V3 X2(a, b) ↔ V4 X2([a, b])). */
  fields(sf: Field[], df: Field[], payload: unknown, path: string, depth: number): JsonValue {
    const parts = this.readFields(sf, payload, path);
    const unnamed = (fs: Field[]) => fs.length > 0 && fs[0]!.name === null;
    if (sf.length === 0 && df.length === 0) return null;
    if (unnamed(sf) && unnamed(df)) {
      const srcArray = sf.length === 1 ? this.src.get(sf[0]!.type) : undefined;
      const dstArray = df.length === 1 ? this.dst.get(df[0]!.type) : undefined;
      const srcIsArray = srcArray?.kind === 'array';
      const dstIsArray = dstArray?.kind === 'array';
      if (dstArray?.kind === 'array' && !srcIsArray && dstArray.len === sf.length) {
        return parts.map((p, i) => this.convert(sf[i]!.type, dstArray.elem, p.value, p.path, depth + 1));
      }
      if (srcArray?.kind === 'array' && !dstIsArray && srcArray.len === df.length) {
        const items = parts[0]!.value;
        if (!Array.isArray(items) || items.length !== df.length)
          this.fail(path, `expected ${df.length} items`);
        const values = items.map((v, i) =>
          this.convert(srcArray.elem, df[i]!.type, v, `${path}[${i}]`, depth + 1),
        );
        return writeFields(df, values);
      }
      if (sf.length === df.length) {
        return writeFields(
          df,
          parts.map((p, i) => this.convert(sf[i]!.type, df[i]!.type, p.value, p.path, depth + 1)),
        );
      }
    }
    if (!unnamed(sf) && !unnamed(df)) {
      for (const f of sf) {
        if (!df.some((g) => g.name === f.name))
          this.fail(`${path}.${f.camel}`, `field ${f.name} has no XCM V${this.to} equivalent`);
      }
      const values = df.map((g) => {
        const i = sf.findIndex((f) => f.name === g.name);
        if (i < 0)
          this.fail(
            `${path}.${g.camel}`,
            `XCM V${this.to} needs ${g.name}, which V${this.from} does not have`,
          );
        return this.convert(sf[i]!.type, g.type, parts[i]!.value, parts[i]!.path, depth + 1);
      });
      return writeFields(df, values);
    }
    return this.fail(path, 'the fields differ between the versions');
  }

  readVariant(node: VariantNode, value: unknown, path: string): { variant: Variant; payload: unknown } {
    try {
      return readVariant(node, value, path);
    } catch (error) {
      return this.fail(path, error instanceof Error ? error.message : String(error));
    }
  }

  readFields(fields: Field[], payload: unknown, path: string): { value: unknown; path: string }[] {
    try {
      return readFields(fields, payload, path);
    } catch (error) {
      return this.fail(path, error instanceof Error ? error.message : String(error));
    }
  }

  /** The object form of a variant's payload (for rules that rebuild a variant by hand). */
  payloadObject(variant: Variant, payload: unknown, path: string): JsonObject {
    if (!isJsonObject(payload)) this.fail(`${path}.${variant.camel}`, 'expected an object');
    return payload;
  }
}

type Rule = (
  c: Converter,
  s: TypeNode,
  d: TypeNode,
  value: unknown,
  path: string,
  depth: number,
) => JsonValue | undefined;

const DEFAULT_PROOF_SIZE = 64 * 1024; // polkadot-sdk v3/mod.rs: proof size given to V2 weights
const U64_MAX = (1n << 64n) - 1n;
/** Genesis hashes that V5 uses for the test networks it no longer names (RFC-0108). */
const WESTEND_GENESIS = '0xe143f23803ac50e8f6f8e62695d1ce9e4e1d68aa36c1cd2cfd15340213f3423e';
const ROCOCO_GENESIS = '0x6408de7737c59c238890533af25896a2c20608d8b380bb01029acb392781063e';

function weightJson(refTime: bigint, proofSize: bigint): JsonObject {
  return { refTime: integerJson(refTime, 64), proofSize: integerJson(proofSize, 64) };
}

function v2Weight(c: Converter, value: unknown, path: string): JsonObject {
  const n = parseInteger(value);
  if (n === undefined || n < 0n || n > U64_MAX) c.fail(path, 'expected a u64 weight');
  return weightJson(n, BigInt(DEFAULT_PROOF_SIZE));
}

function asVariant(node: TypeNode): VariantNode {
  if (node.kind !== 'variant') throw new Error(`${node.key} is not an enum`);
  return node;
}

function variantField(node: TypeNode, variant: string, field: string | number): number {
  const v = asVariant(node).byName.get(variant.toLowerCase());
  const f = typeof field === 'number' ? v?.fields[field] : v?.fields.find((x) => x.name === field);
  if (!f) throw new Error(`${node.key}::${variant} has no field ${field}`);
  return f.type;
}

function compositeField(node: TypeNode, field: number): number {
  const f = (node as CompositeNode).fields?.[field];
  if (!f) throw new Error(`${node.key} has no field ${field}`);
  return f.type;
}

/** V3 AssetId is `Concrete(MultiLocation) | Abstract([u8; 32])`; V4 keeps only the location. */
const assetIdV3ToV4: Rule = (c, s, d, value, path, depth) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  if (variant.name !== 'Concrete')
    c.fail(`${path}.${variant.camel}`, 'abstract asset ids have no XCM V4 equivalent');
  return c.convert(variant.fields[0]!.type, compositeField(d, 0), payload, `${path}.concrete`, depth + 1);
};

const assetIdV4ToV3: Rule = (c, s, d, value, path, depth) => {
  const location = c.convert(compositeField(s, 0), variantField(d, 'Concrete', 0), value, path, depth + 1);
  return { concrete: location };
};

/** V5 Transact replaced `require_weight_at_most` with an optional `fallback_max_weight`. */
const instructionV4ToV5: Rule = (c, s, d, value, path, depth) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  if (variant.name !== 'Transact') return undefined;
  const p = c.payloadObject(variant, payload, path);
  const at = `${path}.transact`;
  const originKind = c.convert(
    variantFieldOf(s, 'Transact', 'origin_kind'),
    variantField(d, 'Transact', 'origin_kind'),
    p.originKind,
    `${at}.originKind`,
    depth + 1,
  );
  const call = c.convert(
    variantFieldOf(s, 'Transact', 'call'),
    variantField(d, 'Transact', 'call'),
    p.call,
    `${at}.call`,
    depth + 1,
  );
  if (p.requireWeightAtMost === undefined) c.fail(`${at}.requireWeightAtMost`, 'missing');
  return { transact: { originKind, fallbackMaxWeight: p.requireWeightAtMost, call } };
};

/**
 * Back to V4, Transact needs a weight: the fallback if present, else Weight::MAX, as polkadot-sdk
 * does when it cannot decode the call (it cannot know the call's weight without the runtime).
 */
const instructionV5ToV4: Rule = (c, s, d, value, path, depth) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  if (variant.name !== 'Transact') return undefined;
  const p = c.payloadObject(variant, payload, path);
  const at = `${path}.transact`;
  const originKind = c.convert(
    variantFieldOf(s, 'Transact', 'origin_kind'),
    variantField(d, 'Transact', 'origin_kind'),
    p.originKind,
    `${at}.originKind`,
    depth + 1,
  );
  const call = c.convert(
    variantFieldOf(s, 'Transact', 'call'),
    variantField(d, 'Transact', 'call'),
    p.call,
    `${at}.call`,
    depth + 1,
  );
  const fallback = p.fallbackMaxWeight;
  const weight = fallback === null || fallback === undefined ? weightJson(U64_MAX, U64_MAX) : fallback;
  return { transact: { originKind, requireWeightAtMost: weight, call } };
};

function variantFieldOf(node: TypeNode, variant: string, field: string): number {
  return variantField(node, variant, field);
}

/** V5 dropped the Westend/Rococo/Wococo network ids; the first two become ByGenesis. */
const networkV4ToV5: Rule = (c, s, _d, value, path) => {
  const { variant } = c.readVariant(asVariant(s), value, path);
  if (variant.name === 'Westend') return { byGenesis: WESTEND_GENESIS };
  if (variant.name === 'Rococo') return { byGenesis: ROCOCO_GENESIS };
  if (variant.name === 'Wococo') c.fail(`${path}.wococo`, 'Wococo has no XCM V5 network id');
  return undefined;
};

// ---- V2 → V3 (polkadot-sdk v3/mod.rs, multiasset.rs, junction.rs, traits.rs before V2 was removed)

const instructionV2ToV3: Rule = (c, s, d, value, path, depth): JsonValue | undefined => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  const at = `${path}.${variant.camel}`;
  const conv = (field: string, dstVariant: string, dstField: string, v: unknown, where: string) =>
    c.convert(
      variantField(s, variant.name, field),
      variantField(d, dstVariant, dstField),
      v,
      where,
      depth + 1,
    );
  switch (variant.name) {
    case 'QueryResponse': {
      const p = c.payloadObject(variant, payload, path);
      return {
        queryResponse: {
          queryId: p.queryId ?? c.fail(`${at}.queryId`, 'missing'),
          response: conv('response', 'QueryResponse', 'response', p.response, `${at}.response`),
          maxWeight: v2Weight(c, p.maxWeight, `${at}.maxWeight`),
          querier: null,
        },
      };
    }
    case 'Transact': {
      const p = c.payloadObject(variant, payload, path);
      return {
        transact: {
          originKind: conv('origin_type', 'Transact', 'origin_kind', p.originType, `${at}.originType`),
          requireWeightAtMost: v2Weight(c, p.requireWeightAtMost, `${at}.requireWeightAtMost`),
          call: conv('call', 'Transact', 'call', p.call, `${at}.call`),
        },
      };
    }
    case 'ReportError':
    case 'QueryHolding': {
      const p = c.payloadObject(variant, payload, path);
      const info = variantField(
        d,
        variant.name === 'ReportError' ? 'ReportError' : 'ReportHolding',
        variant.name === 'ReportError' ? 0 : 'response_info',
      );
      const responseInfo = {
        destination: c.convert(
          variantField(s, variant.name, 'dest'),
          compositeFieldByName(c.dst.get(info), 'destination'),
          p.dest,
          `${at}.dest`,
          depth + 1,
        ),
        queryId: p.queryId ?? c.fail(`${at}.queryId`, 'missing'),
        maxWeight: v2Weight(c, p.maxResponseWeight, `${at}.maxResponseWeight`),
      };
      if (variant.name === 'ReportError') return { reportError: responseInfo };
      return {
        reportHolding: {
          responseInfo,
          assets: conv('assets', 'ReportHolding', 'assets', p.assets, `${at}.assets`),
        },
      };
    }
    case 'DepositAsset':
    case 'DepositReserveAsset': {
      const p = c.payloadObject(variant, payload, path);
      const assets = filterWithCount(
        c,
        variantField(s, variant.name, 'assets'),
        variantField(d, variant.name, 'assets'),
        p.assets,
        p.maxAssets,
        `${at}.assets`,
        depth,
      );
      if (variant.name === 'DepositAsset') {
        return {
          depositAsset: {
            assets,
            beneficiary: conv(
              'beneficiary',
              'DepositAsset',
              'beneficiary',
              p.beneficiary,
              `${at}.beneficiary`,
            ),
          },
        };
      }
      return {
        depositReserveAsset: {
          assets,
          dest: conv('dest', 'DepositReserveAsset', 'dest', p.dest, `${at}.dest`),
          xcm: conv('xcm', 'DepositReserveAsset', 'xcm', p.xcm, `${at}.xcm`),
        },
      };
    }
    case 'ExchangeAsset': {
      const p = c.payloadObject(variant, payload, path);
      return {
        exchangeAsset: {
          give: conv('give', 'ExchangeAsset', 'give', p.give, `${at}.give`),
          want: conv('receive', 'ExchangeAsset', 'want', p.receive, `${at}.receive`),
          maximal: true,
        },
      };
    }
    case 'SubscribeVersion': {
      const p = c.payloadObject(variant, payload, path);
      return {
        subscribeVersion: {
          queryId: p.queryId ?? c.fail(`${at}.queryId`, 'missing'),
          maxResponseWeight: v2Weight(c, p.maxResponseWeight, `${at}.maxResponseWeight`),
        },
      };
    }
    default:
      return undefined;
  }
};

function compositeFieldByName(node: TypeNode, name: string): number {
  const f = node.kind === 'composite' ? node.fields.find((x) => x.name === name) : undefined;
  if (!f) throw new Error(`${node.key} has no field ${name}`);
  return f.type;
}

/** V2 `(MultiAssetFilter, max_assets)` → V3 filter with the count inside the wildcard. */
function filterWithCount(
  c: Converter,
  srcId: number,
  dstId: number,
  value: unknown,
  maxAssets: unknown,
  path: string,
  depth: number,
): JsonValue {
  const count = parseInteger(maxAssets);
  if (count === undefined || count < 0n || count > 0xffff_ffffn)
    c.fail(`${path}`, 'max_assets must be a u32');
  const s = asVariant(c.src.get(srcId));
  const d = c.dst.get(dstId);
  const { variant, payload } = c.readVariant(s, value, path);
  if (variant.name === 'Definite') {
    if (!Array.isArray(payload) || BigInt(payload.length) > count)
      c.fail(`${path}.definite`, 'more assets than max_assets');
    return c.convert(srcId, dstId, value, path, depth + 1);
  }
  const wildSrc = asVariant(c.src.get(variant.fields[0]!.type));
  const wildDst = c.dst.get(variantField(d, 'Wild', 0));
  const inner = c.readVariant(wildSrc, payload, `${path}.wild`);
  if (inner.variant.name === 'All') return { wild: { allCounted: Number(count) } };
  const p = c.payloadObject(inner.variant, inner.payload, `${path}.wild`);
  return {
    wild: {
      allOfCounted: {
        id: c.convert(
          variantField(wildSrc, 'AllOf', 'id'),
          variantField(wildDst, 'AllOfCounted', 'id'),
          p.id,
          `${path}.wild.allOf.id`,
          depth + 1,
        ),
        fun: c.convert(
          variantField(wildSrc, 'AllOf', 'fun'),
          variantField(wildDst, 'AllOfCounted', 'fun'),
          p.fun,
          `${path}.wild.allOf.fun`,
          depth + 1,
        ),
        count: Number(count),
      },
    },
  };
}

const weightLimitV2ToV3: Rule = (c, s, _d, value, path) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  if (variant.name === 'Limited') return { limited: v2Weight(c, payload, `${path}.limited`) };
  return undefined;
};

/** V2 network ids: Any and Named become "no network", Polkadot and Kusama stay. */
function networkV2ToV3(c: Converter, srcId: number, value: unknown, path: string): JsonValue {
  const { variant } = c.readVariant(asVariant(c.src.get(srcId)), value, path);
  if (variant.name === 'Polkadot') return { polkadot: null };
  if (variant.name === 'Kusama') return { kusama: null };
  return null;
}

const junctionV2ToV3: Rule = (c, s, d, value, path, depth) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  const at = `${path}.${variant.camel}`;
  if (variant.name === 'GeneralKey') {
    const key = typeof payload === 'string' ? payload.slice(2) : '';
    if (typeof payload !== 'string' || key.length / 2 > 32)
      c.fail(at, 'a general key longer than 32 bytes has no XCM V3 equivalent');
    return { generalKey: { length: key.length / 2, data: `0x${key.padEnd(64, '0')}` } };
  }
  if (
    variant.name === 'AccountId32' ||
    variant.name === 'AccountIndex64' ||
    variant.name === 'AccountKey20'
  ) {
    const p = c.payloadObject(variant, payload, path);
    const target = asVariant(d).byName.get(variant.name.toLowerCase())!;
    const out: JsonObject = {};
    for (const f of target.fields) {
      out[f.camel!] =
        f.name === 'network'
          ? networkV2ToV3(c, variantField(s, variant.name, 'network'), p.network, `${at}.network`)
          : c.convert(
              variantField(s, variant.name, f.name!),
              f.type,
              p[f.camel!],
              `${at}.${f.camel}`,
              depth + 1,
            );
    }
    return { [variant.camel]: out };
  }
  return undefined;
};

const bodyIdV2ToV3: Rule = (c, s, _d, value, path) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  if (variant.name !== 'Named') return undefined;
  if (typeof payload !== 'string' || payload.length !== 10) {
    return c.fail(`${path}.named`, 'only a 4-byte body name has an XCM V3 equivalent (Moniker)');
  }
  return { moniker: payload };
};

const assetIdV2ToV3: Rule = (c, s, _d, value, path) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  if (variant.name !== 'Abstract') return undefined;
  const key = typeof payload === 'string' ? payload.slice(2) : '';
  if (typeof payload !== 'string' || key.length / 2 > 32)
    c.fail(`${path}.abstract`, 'an abstract id longer than 32 bytes has no XCM V3 equivalent');
  return { abstract: `0x${key.padEnd(64, '0')}` };
};

/** Only these V2 errors have V3 counterparts (polkadot-sdk v3/traits.rs `TryFrom<OldError>`). */
const V2_ERRORS: Record<string, string> = {
  Overflow: 'Overflow',
  Unimplemented: 'Unimplemented',
  UntrustedReserveLocation: 'UntrustedReserveLocation',
  UntrustedTeleportLocation: 'UntrustedTeleportLocation',
  MultiLocationFull: 'LocationFull',
  MultiLocationNotInvertible: 'LocationNotInvertible',
  BadOrigin: 'BadOrigin',
  InvalidLocation: 'InvalidLocation',
  AssetNotFound: 'AssetNotFound',
  FailedToTransactAsset: 'FailedToTransactAsset',
  NotWithdrawable: 'NotWithdrawable',
  LocationCannotHold: 'LocationCannotHold',
  ExceedsMaxMessageSize: 'ExceedsMaxMessageSize',
  DestinationUnsupported: 'DestinationUnsupported',
  Transport: 'Transport',
  Unroutable: 'Unroutable',
  UnknownClaim: 'UnknownClaim',
  FailedToDecode: 'FailedToDecode',
  MaxWeightInvalid: 'MaxWeightInvalid',
  NotHoldingFees: 'NotHoldingFees',
  TooExpensive: 'TooExpensive',
  Trap: 'Trap',
};

const errorV2ToV3: Rule = (c, s, d, value, path) => {
  const { variant, payload } = c.readVariant(asVariant(s), value, path);
  const name = V2_ERRORS[variant.name];
  if (!name) c.fail(`${path}.${variant.camel}`, `error ${variant.name} has no XCM V3 equivalent`);
  const target = asVariant(d).byName.get(name.toLowerCase())!;
  return writeVariant(asVariant(d), target, target.fields.length ? (payload as JsonValue) : null);
};

const RULES: Record<string, Rule> = {
  'AssetId@v3->AssetId@v4': assetIdV3ToV4,
  'AssetId@v4->AssetId@v3': assetIdV4ToV3,
  'Instruction@v4->Instruction@v5': instructionV4ToV5,
  'Instruction@v5->Instruction@v4': instructionV5ToV4,
  'NetworkId@v4->NetworkId@v5': networkV4ToV5,
  'Instruction@v2->Instruction@v3': instructionV2ToV3,
  'WeightLimit@v2->WeightLimit@v3': weightLimitV2ToV3,
  'Junction@v2->Junction@v3': junctionV2ToV3,
  'BodyId@v2->BodyId@v3': bodyIdV2ToV3,
  'AssetId@v2->AssetId@v3': assetIdV2ToV3,
  'Error@v2->Error@v3': errorV2ToV3,
};
