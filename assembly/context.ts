// The request context (docs/wasm-host-interface.md#context-fields).
import * as host from "./host";

/** Where a request came from (context field 2). */
export enum OriginKind {
  Evm = 0,
  Phala = 1,
  Xcm = 2,
  /** A query: it has no origin. */
  None = 255,
}

/** Which export the host called (context field 6). */
export enum CallKind {
  Handle = 0,
  Query = 1,
}

const REQUEST_ID: u32 = 0;
const CONTRACT_ID: u32 = 1;
const ORIGIN_KIND: u32 = 2;
const REQUESTER: u32 = 3;
const END_USER: u32 = 4;
const BLOCK: u32 = 5;
const CALL_KIND: u32 = 6;
const ORIGIN_JSON: u32 = 7;

/** The raw bytes of a context field (empty for an unknown field). */
export function contextField(field: u32): Uint8Array {
  const len = host.context(field, 0, 0);
  if (len <= 0) return new Uint8Array(0);
  const out = new Uint8Array(len);
  host.context(field, out.dataStart, len);
  return out;
}

/** The request context. Each getter asks the host, so keep a value you use often. */
export class Context {
  /** The request id, 32 bytes (a query's id for a query). */
  static get requestId(): Uint8Array {
    return contextField(REQUEST_ID);
  }

  /** This contract's id, 32 bytes. */
  static get contractId(): Uint8Array {
    return contextField(CONTRACT_ID);
  }

  static get originKind(): OriginKind {
    const b = contextField(ORIGIN_KIND);
    return b.length == 1 ? <OriginKind>b[0] : OriginKind.None;
  }

  /**
   * The requester: a 20-byte address (EVM), a 32-byte account id (Phala-style), a SCALE-encoded
   * location (XCM). Empty for a query.
   */
  static get requester(): Uint8Array {
    return contextField(REQUESTER);
  }

  /** The account the requester acts for (EVM `endUser`), else the requester. Empty for a query. */
  static get endUser(): Uint8Array {
    return contextField(END_USER);
  }

  /** The origin-chain block the worker verified the request in (0 for a query). */
  static get block(): u64 {
    const b = contextField(BLOCK);
    if (b.length != 8) return 0;
    return load<u64>(b.dataStart);
  }

  static get callKind(): CallKind {
    const b = contextField(CALL_KIND);
    return b.length == 1 ? <CallKind>b[0] : CallKind.Handle;
  }

  /** The origin as canonical JSON: what a JavaScript contract sees as `ctx.origin`. */
  static get originJson(): string {
    const b = contextField(ORIGIN_JSON);
    return String.UTF8.decodeUnsafe(b.dataStart, b.length);
  }
}

/** The origin kind as `ctx.origin.kind` spells it: "evm", "phala", "xcm" ("" for a query). */
export function originKindName(kind: OriginKind): string {
  switch (kind) {
    case OriginKind.Evm:
      return "evm";
    case OriginKind.Phala:
      return "phala";
    case OriginKind.Xcm:
      return "xcm";
    default:
      return "";
  }
}
