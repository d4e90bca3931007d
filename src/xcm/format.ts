import type { Hex } from '../base/bytes.js';
import type { DecodedXcm } from './decode.js';
import { isJsonObject, type JsonValue } from './json.js';

export type FormatOptions = {
  /** Names a Transact call from its bytes (e.g. with the destination's metadata); shown beside the hex. */
  describeCall?: ((call: Hex) => string | undefined) | undefined;
};

/**
 * A decoded message as readable text: a header (version, size, id, hash) and one line per
 * instruction, nested programs indented. Locations print as paths (`../Parachain(2000)/
 * AccountId32(0x…)`), assets as `amount × location`, big numbers in decimal.
 */
export function formatXcm(message: DecodedXcm, options: FormatOptions = {}): string {
  const lines = [
    `XCM V${message.version}, ${message.instructions.length} instruction(s), ${message.bytes.length} bytes`,
    `  id    ${message.id}${message.topic ? ' (SetTopic)' : ' (blake2_256 of the message)'}`,
    `  hash  ${message.hash}`,
  ];
  program(message.instructions, 1, lines, options);
  return lines.join('\n');
}

/** The instructions of a program, one per line, from their JSON. */
export function formatInstructions(instructions: readonly JsonValue[], options: FormatOptions = {}): string {
  const lines: string[] = [];
  program(instructions, 0, lines, options);
  return lines.join('\n');
}

/** Fields whose value is a nested XCM program. */
const PROGRAM_FIELDS = new Set(['xcm', 'remoteXcm', 'setErrorHandler', 'setAppendix']);
/** Fields printed as decimal numbers even when @polkadot/types gives them as hex. */
const NUMBER_FIELDS = new Set([
  'fungible',
  'refTime',
  'proofSize',
  'generalIndex',
  'queryId',
  'chainId',
  'blockNumber',
  'index',
]);

function program(
  instructions: readonly JsonValue[],
  depth: number,
  lines: string[],
  options: FormatOptions,
): void {
  const pad = '  '.repeat(depth);
  instructions.forEach((ins, i) => {
    const [name, payload] = entry(ins);
    const nested: [string, JsonValue[]][] = [];
    let args: string;
    if (PROGRAM_FIELDS.has(name) && Array.isArray(payload)) {
      nested.push(['', payload]);
      args = '';
    } else if (isJsonObject(payload) && (isLocation(payload) || isInterior(payload))) {
      args = value(payload);
    } else if (isJsonObject(payload)) {
      args = Object.entries(payload)
        .map(([k, v]) => {
          if (PROGRAM_FIELDS.has(k) && Array.isArray(v)) {
            nested.push([k, v]);
            return `${k}=<${v.length} instruction(s) below>`;
          }
          if (k === 'call' && isJsonObject(v) && typeof v.encoded === 'string')
            return `call=${call(v.encoded as Hex, options)}`;
          return `${k}=${value(v, k)}`;
        })
        .join(' ');
    } else {
      args = payload === null ? '' : value(payload, name);
    }
    lines.push(`${pad}${String(i).padStart(2)}  ${pascal(name)}${args ? ` ${args}` : ''}`);
    for (const [label, inner] of nested) {
      if (label) lines.push(`${pad}      ${label}:`);
      program(inner, depth + 3, lines, options);
    }
  });
}

function call(encoded: Hex, options: FormatOptions): string {
  const size = (encoded.length - 2) / 2;
  const name = options.describeCall?.(encoded);
  return `${encoded} (${size} bytes${name ? `, ${name}` : ''})`;
}

function entry(value: JsonValue): [string, JsonValue] {
  if (typeof value === 'string') return [value, null];
  if (isJsonObject(value)) {
    const [k, v] = Object.entries(value)[0] ?? ['?', null];
    return [k, v];
  }
  return ['?', value];
}

/** Any value: locations, assets and enums get their own forms. */
export function value(v: JsonValue, key = ''): string {
  if (v === null) return 'None';
  if (typeof v === 'string')
    return NUMBER_FIELDS.has(key) && /^0x[0-9a-f]+$/i.test(v) ? BigInt(v).toString() : v;
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => value(x, key)).join(', ')}]`;
  if (isLocation(v)) return locationText(v);
  if (isInterior(v)) return locationText({ parents: 0, interior: v });
  if ('id' in v && 'fun' in v && Object.keys(v).length === 2) return asset(v.id!, v.fun!);
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const k = keys[0]!;
    const inner = v[k]!;
    if (k === 'concrete') return value(inner);
    if (inner === null) return pascal(k);
    return `${pascal(k)}(${value(inner, k)})`;
  }
  return `{${keys.map((k) => `${k}: ${value(v[k]!, k)}`).join(', ')}}`;
}

/** `../Parachain(2000)/AccountId32(0x…)`; `Here` for this chain. */
export function locationText(loc: JsonValue): string {
  if (!isJsonObject(loc)) return value(loc);
  const parts: string[] = Array.from({ length: Number(loc.parents ?? 0) }, () => '..');
  const interior = loc.interior;
  if (isJsonObject(interior)) {
    const [k, js] = Object.entries(interior)[0] ?? ['here', null];
    if (k.toLowerCase() !== 'here') {
      const list = Array.isArray(js) ? js : [js ?? null];
      for (const j of list) parts.push(junction(j));
    }
  }
  return parts.length ? parts.join('/') : 'Here';
}

function junction(j: JsonValue): string {
  const [k, v] = entry(j);
  if (k === 'generalKey' && isJsonObject(v) && typeof v.data === 'string') {
    const length = Number(v.length ?? 32);
    return `GeneralKey(0x${v.data.slice(2, 2 + 2 * length)})`;
  }
  if ((k === 'accountId32' || k === 'accountKey20' || k === 'accountIndex64') && isJsonObject(v)) {
    const id = v.id ?? v.key ?? v.index ?? null;
    const network = v.network === null || v.network === undefined ? '' : `${value(v.network)}, `;
    return `${pascal(k)}(${network}${value(id, k === 'accountIndex64' ? 'index' : '')})`;
  }
  if (v === null) return pascal(k);
  return `${pascal(k)}(${value(v, k)})`;
}

function isLocation(v: JsonValue): boolean {
  return isJsonObject(v) && 'parents' in v && 'interior' in v && Object.keys(v).length === 2;
}

/** Junctions (`{ here: null }`, `{ x2: [...] }`), e.g. DescendOrigin's argument. */
function isInterior(v: JsonValue): boolean {
  if (!isJsonObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && /^(here|x[1-8])$/i.test(keys[0]!);
}

function asset(id: JsonValue, fun: JsonValue): string {
  const [kind, amount] = entry(fun);
  const what = value(id);
  if (kind === 'fungible') return `${value(amount, 'fungible')} × ${what}`;
  return `${value(fun)} of ${what}`;
}

function pascal(name: string): string {
  return name.length ? name[0]!.toUpperCase() + name.slice(1) : name;
}
