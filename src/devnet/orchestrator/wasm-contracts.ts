import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BaseError, type Retry } from '../../base/errors.js';
import type { AuctionSettings, ContractOrigin } from './contracts.js';

/** The WebAssembly examples of examples/wasm/, compiled by `npm run build:contracts`. */
export type WasmExampleName = 'greeter' | 'sealed-bid-auction' | 'hash-chain' | 'bench';

/** A compiled example as users find it in the package: examples/wasm/build/<name>.wasm. */
export function wasmExample(name: WasmExampleName): Uint8Array {
  return new Uint8Array(
    readFileSync(fileURLToPath(new URL(`../../../examples/wasm/build/${name}.wasm`, import.meta.url))),
  );
}

/** The auction module does not hold the settings slot, or the settings do not fit in it. */
export class WasmAuctionSettingsError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'WasmAuctionSettingsError';
}

// examples/wasm/sealed-bid-auction.ts: SETTINGS, a string literal of SLOT_CHARS characters (stored
// in the module as UTF-16LE), the built-in settings padded with spaces.
const BUILT_IN_SETTINGS = '{"auctioneer":null,"bidders":"any"}';
const SLOT_CHARS = 1024;

const utf16 = (text: string) => Buffer.from(text.padEnd(SLOT_CHARS, ' '), 'utf16le');

/** An origin as the contract compares it: canonical JSON (keys sorted), hex in lower case. */
function canonicalOrigin(origin: ContractOrigin): string {
  const entries = Object.entries(origin)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(typeof v === 'string' ? v.toLowerCase() : v)}`);
  return `{${entries.join(',')}}`;
}

/**
 * examples/wasm/build/sealed-bid-auction.wasm with these deployment settings written in (the
 * WebAssembly counterpart of auctionContract): they become part of the code hash, so the contract
 * id pins them.
 */
export function wasmAuctionContract(settings: AuctionSettings): Uint8Array {
  const code = Buffer.from(wasmExample('sealed-bid-auction'));
  const slot = utf16(BUILT_IN_SETTINGS);
  const at = code.indexOf(slot);
  if (at < 0 || code.indexOf(slot, at + 1) >= 0)
    throw new WasmAuctionSettingsError('sealed-bid-auction.wasm has no single settings slot', {
      details: 'rebuild it with npm run build:contracts',
    });
  const bidders =
    settings.bidders === 'any' ? '"any"' : `[${settings.bidders.map(canonicalOrigin).join(',')}]`;
  const json = `{"auctioneer":${canonicalOrigin(settings.auctioneer)},"bidders":${bidders}}`;
  if (json.length > SLOT_CHARS)
    throw new WasmAuctionSettingsError(
      `auction settings take ${json.length} characters, the slot ${SLOT_CHARS}`,
    );
  utf16(json).copy(code, at);
  return new Uint8Array(code);
}
