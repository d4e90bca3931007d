import { fromHex, isHex, utf8 } from '../../base/bytes.js';
import { appendLog } from '../engine/call-outcome.js';
import { DeterministicRandom } from '../engine/random.js';
import type { JsonValue, SandboxCall } from '../engine/sandbox.js';
import type { ContractState } from '../engine/state.js';
import { canonicalJson } from './canonical-json.js';

const ORIGIN_KINDS: Readonly<Record<string, number>> = { evm: 0, phala: 1, xcm: 2 };
const NO_ORIGIN = 255;
const ZERO_ID = new Uint8Array(32);

/** The state of the WebAssembly call in progress; the host functions read and fill it. */
export class WasmCall {
  result: { public: Uint8Array; sealed: Uint8Array } | null = null;
  stateChanged = false;
  logs: string[] = [];
  logBytes = 0;
  #random: DeterministicRandom | null = null;
  readonly #fields = new Map<number, Uint8Array | null>();

  constructor(
    readonly request: SandboxCall,
    readonly state: ContractState,
  ) {}

  get random(): DeterministicRandom {
    this.#random ??= new DeterministicRandom(this.request.randomSeed);
    return this.#random;
  }

  /** Keeps a log line within the call's log limit, as the JavaScript sandbox does. */
  log(line: string): void {
    appendLog(this, line, this.request.limits.logBytes);
  }

  /** Context field `field` (docs/wasm-host-interface.md#context-fields), null for an unknown one. */
  context(field: number): Uint8Array | null {
    let value = this.#fields.get(field);
    if (value === undefined) {
      value = contextField(this.request, field);
      this.#fields.set(field, value);
    }
    return value;
  }
}

function contextField(request: SandboxCall, field: number): Uint8Array | null {
  const origin = isObject(request.origin) ? request.origin : null;
  switch (field) {
    case 0:
      return fromHex(request.requestId, 'requestId', 32);
    case 1:
      return request.contractId ? fromHex(request.contractId, 'contractId', 32) : ZERO_ID;
    case 2:
      return Uint8Array.of(
        origin && typeof origin.kind === 'string' ? (ORIGIN_KINDS[origin.kind] ?? NO_ORIGIN) : NO_ORIGIN,
      );
    case 3:
      return hexField(origin?.requester);
    case 4:
      return origin && typeof origin.endUser === 'string'
        ? hexField(origin.endUser)
        : hexField(origin?.requester);
    case 5: {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, BigInt(request.blockNumber ?? 0), true);
      return out;
    }
    case 6:
      return Uint8Array.of(request.kind === 'handle' ? 0 : 1);
    case 7:
      return utf8(canonicalJson(request.origin));
    default:
      return null;
  }
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A 0x-hex origin field as raw bytes; empty when absent or not hex. */
function hexField(value: JsonValue | undefined): Uint8Array {
  if (!isHex(value)) return new Uint8Array(0);
  return fromHex(value);
}
