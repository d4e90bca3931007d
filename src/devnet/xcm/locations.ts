import { fromHex } from '../../base/bytes.js';
import { isJsonObject, type JsonValue } from '../../xcm/json.js';
import {
  type JunctionJson,
  type LocationJson,
  MAX_JUNCTIONS,
  junctionsOf,
  location,
  sameLocation,
} from '../../xcm/location.js';
import { hashedDescription, sovereignAccountOf } from '../../xcm/sovereign.js';
import type { DispatchOrigin } from '../substrate/runtime/origin.js';
import type { XcmChainConfig } from './config.js';

/**
 * Locations as the devnet's executor sees them (V5 polkadot-js JSON, relative to the chain that
 * runs the message), and the two conversions every chain configures: location → account
 * (`LocationToAccountId`) and XCM origin → dispatch origin (`XcmOriginToTransactDispatchOrigin`).
 */

export type ParsedLocation = { parents: number; junctions: JsonValue[] };

/** The parts of a location, or null when the JSON is not one. */
export function parseLocation(value: unknown): ParsedLocation | null {
  if (!isJsonObject(value)) return null;
  const parents = value.parents;
  if (typeof parents !== 'number' || !Number.isInteger(parents) || parents < 0 || parents > 255) return null;
  try {
    return { parents, junctions: junctionsOf(value) };
  } catch {
    return null;
  }
}

export function locationOf(parents: number, junctions: JsonValue[]): LocationJson {
  return location(parents, junctions as JunctionJson[]);
}

/** The location with `junctions` appended, or null when it would have more than 8 (LocationFull). */
export function descend(origin: LocationJson, junctions: JsonValue[]): LocationJson | null {
  const parsed = parseLocation(origin);
  if (!parsed || parsed.junctions.length + junctions.length > MAX_JUNCTIONS) return null;
  return locationOf(parsed.parents, [...parsed.junctions, ...junctions]);
}

/** The single-key variant of a junction, e.g. `{ parachain: 2000 }` → ['parachain', 2000]. */
export function junctionKind(junction: JsonValue): [string, JsonValue] | null {
  if (!isJsonObject(junction)) return null;
  const entries = Object.entries(junction);
  return entries.length === 1 ? [entries[0]![0], entries[0]![1]] : null;
}

function paraOf(junction: JsonValue | undefined): number | null {
  const kind = junction === undefined ? null : junctionKind(junction);
  return kind && kind[0] === 'parachain' && typeof kind[1] === 'number' ? kind[1] : null;
}

function accountId32Of(junction: JsonValue | undefined): Uint8Array | null {
  const kind = junction === undefined ? null : junctionKind(junction);
  if (kind?.[0] !== 'accountId32' || !isJsonObject(kind[1])) return null;
  const id = kind[1].id;
  if (typeof id !== 'string') return null;
  try {
    return fromHex(id, 'accountId32', 32);
  } catch {
    return null;
  }
}

/**
 * `LocationToAccountId`: on a parachain ParentIsPreset, SiblingParachainConvertsVia,
 * AccountId32Aliases, HashedDescription; on the relay chain ChildParachainConvertsVia,
 * AccountId32Aliases, HashedDescription (src/xcm derives each as Substrate does).
 */
export function locationToAccount(loc: JsonValue, config: XcmChainConfig): Uint8Array | null {
  const parsed = parseLocation(loc);
  if (!parsed) return null;
  if (config.paraId === null && parsed.parents > 0) return null;
  try {
    const found = sovereignAccountOf(loc);
    if (!found) return null;
    const allowed =
      config.paraId === null
        ? found.rule !== 'ParentIsPreset' && found.rule !== 'SiblingParachainConvertsVia'
        : found.rule !== 'ChildParachainConvertsVia';
    if (allowed) return fromHex(found.account, 'account', 32);
    const hashed = hashedDescription(loc);
    return hashed ? fromHex(hashed, 'account', 32) : null;
  } catch {
    return null;
  }
}

export type OriginKindName = 'Native' | 'SovereignAccount' | 'Superuser' | 'Xcm';

/**
 * `XcmOriginToTransactDispatchOrigin` as cumulus runtimes list it: SovereignSignedViaLocation,
 * RelayChainAsNative / SiblingParachainAsNative (ChildParachainAsNative on the relay chain),
 * ParentAsSuperuser, SignedAccountId32AsNative, XcmPassthrough. Null: BadOrigin.
 */
export function convertOrigin(
  kind: OriginKindName,
  origin: LocationJson,
  config: XcmChainConfig,
): DispatchOrigin | null {
  const parsed = parseLocation(origin);
  if (!parsed) return null;
  const { parents, junctions } = parsed;
  switch (kind) {
    case 'SovereignAccount': {
      const account = locationToAccount(origin, config);
      return account ? { kind: 'signed', account } : null;
    }
    case 'Native': {
      if (config.paraId !== null && parents === 1 && junctions.length === 0)
        return { kind: 'other', name: 'Relay', value: null };
      if (config.paraId !== null && parents === 1 && junctions.length === 1 && paraOf(junctions[0]) !== null)
        return { kind: 'other', name: 'SiblingParachain', value: paraOf(junctions[0]) };
      if (config.paraId === null && parents === 0 && junctions.length === 1 && paraOf(junctions[0]) !== null)
        return { kind: 'other', name: 'Parachain', value: paraOf(junctions[0]) };
      if (parents === 0 && junctions.length === 1) {
        const account = accountId32Of(junctions[0]);
        if (account) return { kind: 'signed', account };
      }
      return null;
    }
    case 'Superuser':
      return config.paraId !== null && parents === 1 && junctions.length === 0 ? { kind: 'root' } : null;
    case 'Xcm':
      return { kind: 'xcm', location: origin };
    default:
      return null;
  }
}

export function isSameLocation(a: unknown, b: unknown): boolean {
  try {
    return sameLocation(a as JsonValue, b as JsonValue);
  } catch {
    return false;
  }
}

/** The location of a parachain from this chain (a sibling from a parachain, a child from the relay). */
export function paraLocation(paraId: number, config: XcmChainConfig): LocationJson {
  return location(config.paraId === null ? 0 : 1, [{ parachain: paraId }]);
}

/** Which chain a destination names, seen from this chain: the relay, a parachain, or none. */
export function routeOf(
  dest: LocationJson,
  config: XcmChainConfig,
): { kind: 'ump' } | { kind: 'hrmp'; paraId: number } | { kind: 'dmp'; paraId: number } | null {
  const parsed = parseLocation(dest);
  if (!parsed) return null;
  const { parents, junctions } = parsed;
  if (config.paraId !== null) {
    if (parents === 1 && junctions.length === 0) return { kind: 'ump' };
    const para = paraOf(junctions[0]);
    if (parents === 1 && junctions.length === 1 && para !== null && para !== config.paraId)
      return { kind: 'hrmp', paraId: para };
    return null;
  }
  const para = paraOf(junctions[0]);
  if (parents === 0 && junctions.length === 1 && para !== null && config.paras.includes(para))
    return { kind: 'dmp', paraId: para };
  return null;
}
