import { readFileSync } from 'node:fs';
import { type Hex, toHex, utf8 } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import { type PollTimeoutError, pollUntil } from '../base/poll.js';
import { blake2_256 } from '../crypto/hash.js';
import * as contracts from '../phala/actions/contracts.js';
import * as registry from '../phala/actions/registry.js';
import type { PhalaClient } from '../phala/client.js';
import type { Signer } from '../phala/submit.js';
import { type GetDefaultClusterErrorType, getDefaultCluster } from './clusters.js';

export class CodeMismatchError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'CodeMismatchError';
}

/** The code hash the chain uses for a confidential contract's JavaScript source. */
export function codeHashOf(code: string | Uint8Array): Hex {
  return toHex(blake2_256(typeof code === 'string' ? utf8(code) : code));
}

export type DeployContractParameters = {
  signer: Signer;
  /** The contract's JavaScript source, or a path to it. */
  code?: string;
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
  /** Null with `waitForKey: false`. */
  publicKey: Hex | null;
  cluster: Hex;
};
export type DeployContractErrorType = BaseError | GetDefaultClusterErrorType | PollTimeoutError | Error;

/** Uploads the code (once per hash) and instantiates it in a cluster; waits for its key. */
export async function deployContract(
  client: PhalaClient,
  p: DeployContractParameters,
): Promise<DeployContractReturnType> {
  const code = p.code ?? (p.file ? readFileSync(p.file, 'utf8') : undefined);
  if (code === undefined) throw new BaseError('Pass the contract `code` or a `file`.');
  const cluster = p.cluster ?? (await getDefaultCluster(client));
  const codeHash = codeHashOf(code);
  if (!(await contracts.getCode(client, codeHash)))
    await contracts.uploadCode(client, { signer: p.signer, code: toHex(utf8(code)) });
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
  return { contractId, codeHash, publicKey, cluster };
}

export type VerifyContractCodeParameters = {
  contractId: Hex;
  /** The contract's JavaScript source, or a path to it. */
  code?: string;
  file?: string;
};
export type VerifyContractCodeReturnType = { codeHash: Hex };
export type VerifyContractCodeErrorType = CodeMismatchError | BaseError | Error;

/**
 * Checks that a deployed contract runs exactly the given source: the code hash recorded on chain
 * for the instance equals the hash of the local file. Throws CodeMismatchError otherwise.
 */
export async function verifyContractCode(
  client: PhalaClient,
  p: VerifyContractCodeParameters,
): Promise<VerifyContractCodeReturnType> {
  const code = p.code ?? (p.file ? readFileSync(p.file, 'utf8') : undefined);
  if (code === undefined) throw new BaseError('Pass the contract `code` or a `file`.');
  const info = await contracts.getContract(client, p.contractId);
  if (!info) throw new CodeMismatchError(`No contract ${p.contractId} on the chain.`);
  const local = codeHashOf(code);
  if (info.codeHash.toLowerCase() !== local.toLowerCase())
    throw new CodeMismatchError(`Contract ${p.contractId} does not run this code.`, {
      details: `on chain ${info.codeHash}, local ${local}`,
    });
  return { codeHash: local };
}
