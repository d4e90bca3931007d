import { compactToU8a } from '@polkadot/util';
import { type Hex, concatBytes, fromHex, toHex } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { LightClientError } from './errors.js';
import { ScaleReader } from './scale.js';

/** GRANDPA's consensus engine id in header digests and in block justifications. */
export const GRANDPA_ENGINE_ID = 'FRNK';

export type DigestItem =
  | { kind: 'other'; data: Uint8Array }
  | { kind: 'consensus' | 'seal' | 'preRuntime'; engine: string; data: Uint8Array }
  | { kind: 'runtimeEnvironmentUpdated' };

/** A decoded Substrate header with its hash, computed here from its exact SCALE bytes. */
export type Header = {
  parentHash: Hex;
  number: number;
  stateRoot: Hex;
  extrinsicsRoot: Hex;
  digest: DigestItem[];
  hash: Hex;
  encoded: Uint8Array;
};

/** A GRANDPA authority: ed25519 public key and voting weight. */
export type Authority = { id: Hex; weight: bigint };

/** sp-consensus-grandpa's `ConsensusLog`, as carried in a `Consensus(FRNK, ..)` digest item. */
export type GrandpaLog =
  | { kind: 'scheduledChange'; authorities: Authority[]; delay: number }
  | { kind: 'forcedChange'; medianLastFinalized: number; authorities: Authority[]; delay: number }
  | { kind: 'onDisabled'; index: bigint }
  | { kind: 'pause'; delay: number }
  | { kind: 'resume'; delay: number };

const engineName = (id: Uint8Array): string => String.fromCharCode(...id);

function readDigestItem(r: ScaleReader): DigestItem {
  const tag = r.u8();
  switch (tag) {
    case 0:
      return { kind: 'other', data: r.vecU8() };
    case 4:
    case 5:
    case 6: {
      const engine = engineName(r.take(4));
      const data = r.vecU8();
      return { kind: tag === 4 ? 'consensus' : tag === 5 ? 'seal' : 'preRuntime', engine, data };
    }
    case 8:
      return { kind: 'runtimeEnvironmentUpdated' };
    default:
      return r.fail(`unknown digest item ${tag}`);
  }
}

/** Reads one header from a reader positioned at its start (headers inside other structures). */
export function readHeader(r: ScaleReader): Header {
  const start = r.offset;
  const parentHash = toHex(r.take(32));
  const number = r.compactU32();
  const stateRoot = toHex(r.take(32));
  const extrinsicsRoot = toHex(r.take(32));
  const count = r.vecLength(1);
  const digest: DigestItem[] = [];
  for (let i = 0; i < count; i++) digest.push(readDigestItem(r));
  const encoded = r.bytes.slice(start, r.offset);
  return { parentHash, number, stateRoot, extrinsicsRoot, digest, hash: toHex(blake2_256(encoded)), encoded };
}

/** Decodes a SCALE header (exactly one, nothing after it). */
export function decodeHeader(bytes: Uint8Array): Header {
  const r = new ScaleReader(bytes, 'header');
  const header = readHeader(r);
  r.end();
  return header;
}

/** The block hash: blake2-256 of the SCALE header. */
export function headerHash(bytes: Uint8Array): Hex {
  return decodeHeader(bytes).hash;
}

/** The JSON shape of `chain_getHeader` (already validated). */
export type HeaderJson = {
  parentHash: Hex;
  number: number;
  stateRoot: Hex;
  extrinsicsRoot: Hex;
  digest: { logs: Hex[] };
};

/**
 * A header from its RPC JSON: re-encoded to SCALE (each digest log is itself SCALE and must be
 * exactly one item), then decoded, so the hash is computed from the fields the client will use.
 */
export function headerFromJson(json: HeaderJson): Header {
  const logs = json.digest.logs.map((log, i) => {
    const bytes = fromHex(log, `digest.logs[${i}]`);
    const r = new ScaleReader(bytes, 'digest item');
    readDigestItem(r);
    r.end();
    return bytes;
  });
  return decodeHeader(
    concatBytes(
      fromHex(json.parentHash, 'parentHash', 32),
      compactToU8a(json.number),
      fromHex(json.stateRoot, 'stateRoot', 32),
      fromHex(json.extrinsicsRoot, 'extrinsicsRoot', 32),
      compactToU8a(logs.length),
      ...logs,
    ),
  );
}

function readAuthorities(r: ScaleReader): Authority[] {
  const count = r.vecLength(40);
  const out: Authority[] = [];
  for (let i = 0; i < count; i++) out.push({ id: toHex(r.take(32)), weight: r.u64le() });
  return out;
}

/** Decodes the payload of a `Consensus(FRNK, ..)` digest item. */
export function decodeGrandpaLog(data: Uint8Array): GrandpaLog {
  const r = new ScaleReader(data, 'GRANDPA consensus log');
  const tag = r.u8();
  let log: GrandpaLog;
  switch (tag) {
    case 1: {
      const authorities = readAuthorities(r);
      log = { kind: 'scheduledChange', authorities, delay: r.u32le() };
      break;
    }
    case 2: {
      const medianLastFinalized = r.u32le();
      const authorities = readAuthorities(r);
      log = { kind: 'forcedChange', medianLastFinalized, authorities, delay: r.u32le() };
      break;
    }
    case 3:
      log = { kind: 'onDisabled', index: r.u64le() };
      break;
    case 4:
      log = { kind: 'pause', delay: r.u32le() };
      break;
    case 5:
      log = { kind: 'resume', delay: r.u32le() };
      break;
    default:
      return r.fail(`unknown GRANDPA log ${tag}`);
  }
  r.end();
  return log;
}

/** Every GRANDPA consensus log of a header, in digest order. */
export function grandpaLogs(header: Pick<Header, 'digest'>): GrandpaLog[] {
  const out: GrandpaLog[] = [];
  for (const item of header.digest) {
    if (item.kind === 'consensus' && item.engine === GRANDPA_ENGINE_ID) out.push(decodeGrandpaLog(item.data));
  }
  return out;
}

/**
 * The authority set change a header announces, if any. As in Substrate, the first scheduled change
 * counts; a forced change is refused (it is enacted without a justification of the old set, which
 * this client does not follow).
 */
export function authoritySetChangeOf(
  header: Pick<Header, 'digest' | 'number' | 'hash'>,
): { authorities: Authority[]; enactAt: number } | null {
  const logs = grandpaLogs(header);
  const forced = logs.find((l) => l.kind === 'forcedChange');
  if (forced) {
    throw new LightClientError(
      'authority-set-change-unsupported',
      'Forced GRANDPA authority set changes are not supported.',
      {
        details: `block ${header.number} (${header.hash}) announces one`,
      },
    );
  }
  const scheduled = logs.find((l) => l.kind === 'scheduledChange');
  if (scheduled?.kind !== 'scheduledChange') return null;
  return { authorities: scheduled.authorities, enactAt: header.number + scheduled.delay };
}
