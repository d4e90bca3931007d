import { type Command, InvalidArgumentError } from 'commander';
import type { Hex } from '../base/bytes.js';
import { BaseError } from '../base/errors.js';
import { printJson, wsUrlArgument } from './io.js';

/**
 * `contract deploy|verify|query|request`: the SDK on the command line, against a running chain
 * (`npm start` prints its endpoints). Signing keys come from the environment only, never argv:
 * `PHALA_BRIDGE_SURI` (a Substrate secret URI) or `--dev <name>` for the devnet's well-known
 * accounts.
 */
type ChainOptions = { wsUrl: string; dev?: string; json?: boolean };

const DEV_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'] as const;

function hex32(field: string) {
  return (value: string): Hex => {
    if (!/^0x[0-9a-fA-F]{64}$/.test(value))
      throw new InvalidArgumentError(`${field}: expected 32 bytes of 0x-hex`);
    return value as Hex;
  };
}

async function signerOf(opts: ChainOptions) {
  const { devSigner, signerFromUri } = await import('../phala/signers.js');
  if (opts.dev) {
    const name = DEV_NAMES.find((n) => n.toLowerCase() === opts.dev!.toLowerCase());
    if (!name) throw new BaseError(`--dev: one of ${DEV_NAMES.join(', ')}.`);
    return devSigner(name);
  }
  const uri = process.env.PHALA_BRIDGE_SURI;
  if (!uri)
    throw new BaseError('No signer.', {
      details: 'set PHALA_BRIDGE_SURI to the account’s secret URI, or pass --dev <name> on a devnet',
    });
  return signerFromUri(uri);
}

async function withClient<T>(
  url: string,
  fn: (client: import('../phala/client.js').PhalaClient) => Promise<T>,
) {
  const { closePhalaClient, createPhalaClient } = await import('../phala/client.js');
  const client = await createPhalaClient({ url, waitFor: 'inBlock' });
  try {
    return await fn(client);
  } finally {
    await closePhalaClient(client);
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export function addContractChainCommands(contract: Command): void {
  const chain = (c: Command, signs: boolean) => {
    c.requiredOption('--ws-url <url>', 'the Phala-style chain', wsUrlArgument).option('--json', 'print JSON');
    if (signs)
      c.option('--dev <name>', 'sign as a devnet account (Alice, Bob, ...) instead of $PHALA_BRIDGE_SURI');
    return c;
  };

  chain(contract.command('deploy'), true)
    .description(
      'Upload a contract (JavaScript, or a WebAssembly module checked as workers check it) and instantiate it in a cluster; waits for its published key',
    )
    .argument('<file>', 'the contract: JavaScript, or a WebAssembly module (.wasm)')
    .option(
      '--cluster <hex>',
      'the cluster whose workers run it (default: the only cluster approved workers serve, as on the devnet)',
      hex32('--cluster'),
    )
    .option('--salt <text>', 'makes the instance unique (default: time-based)')
    .action(async (file: string, opts: ChainOptions & { cluster?: Hex; salt?: string }) => {
      const { deployContract } = await import('../sdk/deploy.js');
      const signer = await signerOf(opts);
      const deployed = await withClient(opts.wsUrl, (client) =>
        deployContract(client, {
          signer,
          file,
          ...(opts.cluster ? { cluster: opts.cluster } : {}),
          ...(opts.salt ? { salt: opts.salt } : {}),
        }),
      );
      if (opts.json) return printJson(deployed);
      console.log(
        `contract   ${deployed.contractId}\nkind       ${deployed.kind === 'wasm' ? 'WebAssembly' : 'JavaScript'}\ncode hash  ${deployed.codeHash}\npublic key ${deployed.publicKey}\ncluster    ${deployed.cluster}`,
      );
    });

  chain(contract.command('verify'), false)
    .description('Check that a deployed contract runs exactly the code in a local file')
    .argument('<contractId>', 'the contract', hex32('contractId'))
    .argument('<file>', 'the local contract: JavaScript, or a WebAssembly module (.wasm)')
    .action(async (contractId: Hex, file: string, opts: ChainOptions) => {
      const { verifyContractCode } = await import('../sdk/deploy.js');
      const { codeHash } = await withClient(opts.wsUrl, (client) =>
        verifyContractCode(client, { contractId, file }),
      );
      if (opts.json) return printJson({ contractId, codeHash, matches: true });
      console.log(`${contractId} runs ${file} (code hash ${codeHash})`);
    });

  chain(contract.command('query'), false)
    .description('Read a contract through a worker (its query entry point), sealed end to end')
    .argument('<contractId>', 'the contract', hex32('contractId'))
    .argument('<input>', 'the query input (text)')
    .requiredOption('--worker <url>', "a worker's HTTP API")
    .action(async (contractId: Hex, input: string, opts: ChainOptions & { worker: string }) => {
      const { queryContract } = await import('../sdk/query.js');
      const answer = await withClient(opts.wsUrl, (phala) =>
        queryContract(phala, { workerUrl: opts.worker, contractId, input }),
      );
      if (opts.json)
        return printJson({ output: text(answer.output), gasUsed: answer.gasUsed, worker: answer.worker });
      console.log(text(answer.output));
    });

  chain(contract.command('request'), true)
    .description('Send a request from a Phala-style account, wait for the result and open it')
    .argument('<contractId>', 'the contract', hex32('contractId'))
    .argument('<input>', 'the request input (text)')
    .option('--timeout <seconds>', 'how long to wait for the result', '120')
    .action(async (contractId: Hex, input: string, opts: ChainOptions & { timeout: string }) => {
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new BaseError('--timeout: expected seconds.');
      const [{ requestFromPhala, waitForPhalaResult }, { openOutput }] = await Promise.all([
        import('../sdk/phala.js'),
        import('../sdk/seal.js'),
      ]);
      const signer = await signerOf(opts);
      const out = await withClient(opts.wsUrl, async (client) => {
        const sent = await requestFromPhala(client, { signer, contractId, input });
        const result = await waitForPhalaResult(client, { requestId: sent.requestId, timeoutMs });
        const sealed = openOutput({
          sealedOutput: result.sealedOutput as Hex,
          responseSecretKey: sent.responseSecretKey,
          requestId: sent.requestId,
        });
        return { requestId: sent.requestId, publicOutput: result.publicOutput as Hex, sealed: text(sealed) };
      });
      if (opts.json) return printJson(out);
      const { fromHex } = await import('../base/bytes.js');
      console.log(
        `request  ${out.requestId}\npublic   ${text(fromHex(out.publicOutput))}\nsealed   ${out.sealed}`,
      );
    });
}
