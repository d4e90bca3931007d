import { readFileSync } from 'node:fs';
import { type Hex, toHex, utf8 } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import { type PollTimeoutError, pollUntil } from '../base/poll.js';
import { blake2_256 } from '../crypto/hash.js';
import * as contracts from '../phala/actions/contracts.js';
import { type CodeKind, codeKindOf, contractCodeBytes, contractCodeOf } from '../protocol/contract-code.js';
import * as registry from '../phala/actions/registry.js';
import type { PhalaClient } from '../phala/client.js';
import type { Signer } from '../phala/submit.js';
import type { WasmModuleRefusedError } from '../pruntime/wasm/errors.js';
import { type GetDefaultClusterErrorType, getDefaultCluster } from './clusters.js';

export class CodeMismatchError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'CodeMismatchError';
}

/**
 * The code hash the chain uses for a confidential contract: blake2_256 of its JavaScript source
 * (UTF-8) or of its WebAssembly module's bytes.
 */
export function codeHashOf(code: string | Uint8Array): Hex {
  return toHex(blake2_256(contractCodeBytes(code)));
}

/**
 * The contract code given as `code` or `file`, as the bytes the chain stores. A file is read as
 * bytes: one that starts with `\0asm` is a WebAssembly module, anything else JavaScript.
 */
function codeBytesOf(p: { code?: string | Uint8Array | undefined; file?: string | undefined }): Uint8Array {
  if (p.code !== undefined) return contractCodeBytes(p.code);
  if (p.file !== undefined) return new Uint8Array(readFileSync(p.file));
  throw new BaseError('Pass the contract `code` or a `file`.');
}

/**
 * Refuses a WebAssembly module every worker would refuse (docs/wasm-host-interface.md#refusals),
 * before anything is uploaded: throws the instrumenter's WasmModuleRefusedError, whose `reason`
 * names why. Loaded only for a module, so deploying JavaScript never loads the instrumenter.
 */
async function checkModule(bytes: Uint8Array): Promise<void> {
  const [{ instrumentModule }, { defaultEngineLimits }, { maxMemoryPagesOf }] = await Promise.all([
    import('../pruntime/wasm/instrument.js'),
    import('../pruntime/engine/limits.js'),
    import('../pruntime/wasm/limits.js'),
  ]);
  instrumentModule(bytes, { maxMemoryPages: maxMemoryPagesOf(defaultEngineLimits.memoryBytes) });
}

export type DeployContractParameters = {
  signer: Signer;
  /**
   * The contract: JavaScript source, or a WebAssembly module's bytes; or `file`, a path to either
   * (a file starting with `\0asm` is a module).
   */
  code?: string | Uint8Array;
  file?: string;
  /** The cluster whose workers run it; default: the only cluster approved workers serve. */
  cluster?: Hex;
  /** Makes the contract id unique among instances of the same code (default: time-based). */
  salt?: string;
  /** Wait until a gatekeeper has published the contract's key (default true). */
  waitForKey?: boolean;
  timeoutMs?: number;
};

export type DeployContractReturnType = {
  contractId: Hex;
  codeHash: Hex;
  /** What the code is: JavaScript or a WebAssembly module. */
  kind: CodeKind;
  /** Null with `waitForKey: false`. */
  publicKey: Hex | null;
  cluster: Hex;
};
export type DeployContractErrorType =
  | BaseError
  | WasmModuleRefusedError
  | GetDefaultClusterErrorType
  | PollTimeoutError
  | Error;

/**
 * Uploads the code (once per hash) and instantiates it in a cluster; waits for its key. A
 * WebAssembly module is checked first as every worker checks it: a module no worker would run is
 * refused with WasmModuleRefusedError before anything reaches the chain.
 */
export async function deployContract(
  client: PhalaClient,
  p: DeployContractParameters,
): Promise<DeployContractReturnType> {
  const code = codeBytesOf(p);
  const kind = codeKindOf(code);
  if (kind === 'wasm') await checkModule(code);
  else contractCodeOf(code); // JavaScript no worker can read (not UTF-8) is refused here too
  const cluster = p.cluster ?? (await getDefaultCluster(client));
  const codeHash = codeHashOf(code);
  if (!(await contracts.getCode(client, codeHash)))
    await contracts.uploadCode(client, { signer: p.signer, code: toHex(code) });
  const instantiated = await contracts.instantiate(client, {
    signer: p.signer,
    codeHash,
    cluster,
    salt: toHex(utf8(p.salt ?? `${Date.now()}-${Math.random()}`)),
  });
  const contractId = instantiated.event.contractId as Hex;
  const publicKey =
    p.waitForKey === false
      ? null
      : ((await pollUntil(async () => (await registry.getContractKey(client, contractId))?.publicKey, {
          label: `the key of contract ${contractId}`,
          timeoutMs: p.timeoutMs ?? 60_000,
        })) as Hex);
  return { contractId, codeHash, kind, publicKey, cluster };
}

export type VerifyContractCodeParameters = {
  contractId: Hex;
  /** The contract's JavaScript source or WebAssembly module, or `file`, a path to either. */
  code?: string | Uint8Array;
  file?: string;
};
export type VerifyContractCodeReturnType = { codeHash: Hex };
export type VerifyContractCodeErrorType = CodeMismatchError | BaseError | Error;

/**
 * Checks that a deployed contract runs exactly the given code (JavaScript or a module): the code hash recorded on chain
 * for the instance equals the hash of the local file. Throws CodeMismatchError otherwise.
 */
export async function verifyContractCode(
  client: PhalaClient,
  p: VerifyContractCodeParameters,
): Promise<VerifyContractCodeReturnType> {
  const code = codeBytesOf(p);
  const info = await contracts.getContract(client, p.contractId);
  if (!info) throw new CodeMismatchError(`No contract ${p.contractId} on the chain.`);
  const local = codeHashOf(code);
  if (info.codeHash.toLowerCase() !== local.toLowerCase())
    throw new CodeMismatchError(`Contract ${p.contractId} does not run this code.`, {
      details: `on chain ${info.codeHash}, local ${local}`,
    });
  return { codeHash: local };
}
