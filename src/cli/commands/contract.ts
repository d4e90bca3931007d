import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { type Hex, fromHex, isHex, toHex, utf8 } from '../../base/bytes.js';
import { writeSecretFile } from '../../base/secret-file.js';
import { ContractEngine } from '../../pruntime/engine/engine.js';
import { MAX_GAS } from '../../pruntime/engine/limits.js';
import type { JsonValue, SandboxOutcome } from '../../pruntime/engine/sandbox.js';
import { ContractState, STATE_MAGIC } from '../../pruntime/engine/state.js';
import { contractCodeOf } from '../../protocol/contract-code.js';
import { addContractChainCommands } from '../contract-chain.js';

/**
 * `phala-bridge contract run <file.js|file.wasm> [--input <hex>] [--state <file>] [--json]`: runs a
 * contract (JavaScript, or a WebAssembly module: a file starting with `\0asm`) locally in the same
 * engine, with the same limits, as a worker does, and prints its outputs, its new state and the gas
 * it used. The tool a contract author iterates with (docs/pruntime.md#cli).
 *
 * State files are JSON: {"v":1,"entries":[{"key":"count","string":"2"},{"keyHex":"0x01","bytes":"0xff"}]}
 * (or a canonical binary state). Without --seed, ctx.random draws from an all-zero seed, so local
 * runs repeat; on a worker the seed comes from the contract key.
 */
const entrySchema = z
  .strictObject({
    key: z.string().min(1).optional(),
    keyHex: z.string().refine(isHex, 'hex').optional(),
    string: z.string().optional(),
    bytes: z.string().refine(isHex, 'hex').optional(),
  })
  .refine((e) => (e.key === undefined) !== (e.keyHex === undefined), 'exactly one of key and keyHex')
  .refine((e) => (e.string === undefined) !== (e.bytes === undefined), 'exactly one of string and bytes');
const stateFileSchema = z.strictObject({ v: z.literal(1), entries: z.array(entrySchema) });

type StateFileEntry = z.infer<typeof entrySchema>;

export function parseStateFile(bytes: Uint8Array, file: string): ContractState {
  if (bytes.length >= 4 && STATE_MAGIC.every((b, i) => bytes[i] === b))
    return ContractState.parse(bytes, file);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new Error(`${file}: not JSON and not a canonical state`);
  }
  const parsed = stateFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.') || 'state'}: ${issue.message}`);
  }
  const state = ContractState.empty();
  for (const entry of parsed.data.entries) {
    const key = entry.key !== undefined ? utf8(entry.key) : fromHex(entry.keyHex!, 'keyHex');
    if (entry.string !== undefined) state.set(key, 'string', utf8(entry.string));
    else state.set(key, 'bytes', fromHex(entry.bytes!, 'bytes'));
  }
  return state;
}

const printable = (bytes: Uint8Array): string | null => {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /^[\P{Cc}\n\t]*$/u.test(text) ? text : null;
  } catch {
    return null;
  }
};

export function stateFileOf(state: ContractState): { v: 1; entries: StateFileEntry[] } {
  return {
    v: 1,
    entries: state.entries().map((e) => {
      const keyText = printable(e.key);
      const key = keyText !== null ? { key: keyText } : { keyHex: toHex(e.key) };
      return e.type === 'string'
        ? { ...key, string: new TextDecoder().decode(e.value) }
        : { ...key, bytes: toHex(e.value) };
    }),
  };
}

type RunOptions = {
  input: string;
  state?: string;
  saveState?: boolean;
  query?: boolean;
  requestId: string;
  origin: string;
  seed: string;
  contractId: string;
  block: string;
  gas?: string;
  memoryMib?: string;
  json?: boolean;
};

function describeBytes(bytes: Uint8Array): Record<string, unknown> {
  const text = printable(bytes);
  return text === null ? { hex: toHex(bytes) } : { hex: toHex(bytes), text };
}

function report(outcome: SandboxOutcome, kind: 'handle' | 'query') {
  if (!outcome.ok)
    return { ok: false, kind, error: outcome.error, gasUsed: outcome.gasUsed, logs: outcome.logs };
  const state = ContractState.parse(outcome.state);
  return {
    ok: true,
    kind,
    public: describeBytes(outcome.public),
    sealed: describeBytes(outcome.sealed),
    gasUsed: outcome.gasUsed,
    stateChanged: outcome.stateChanged,
    state: { ...stateFileOf(state), bytes: state.size, canonical: toHex(outcome.state) },
    logs: outcome.logs,
  };
}

function printHuman(result: ReturnType<typeof report>): string {
  const lines: string[] = [];
  const bytesLine = (label: string, value: Record<string, unknown>) =>
    `${label.padEnd(9)} ${value.hex as string}${value.text !== undefined ? `  ${JSON.stringify(value.text)}` : ''}`;
  if (!result.ok) {
    lines.push(`failed    ${result.error!.code}: ${result.error!.message}`);
  } else {
    lines.push('status    ok');
    lines.push(bytesLine('public', result.public!));
    lines.push(bytesLine('sealed', result.sealed!));
    const state = result.state!;
    lines.push(
      `state     ${result.stateChanged ? 'changed' : 'unchanged'}, ${state.entries.length} entries, ${state.bytes} bytes`,
    );
    for (const e of state.entries) {
      const key = e.key !== undefined ? JSON.stringify(e.key) : e.keyHex;
      const value = e.string !== undefined ? JSON.stringify(e.string) : e.bytes;
      lines.push(`  ${key} = ${value}`);
    }
  }
  lines.push(`gas used  ${result.gasUsed}`);
  if (result.logs.length) lines.push('logs', ...result.logs.map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}

export function registerContractCommand(program: Command): void {
  const contract = program
    .command('contract')
    .description('Confidential contracts: run locally, deploy, verify, query, request');
  addContractChainCommands(contract);
  contract
    .command('run')
    .description(
      'Run a contract in the local engine with the worker limits and print outputs, new state and gas',
    )
    .argument('<file>', 'the contract: JavaScript, or a WebAssembly module (.wasm)')
    .option('--input <hex>', 'input bytes as hex', '0x')
    .option('--state <file>', 'state to start from (JSON state file or canonical binary)')
    .option('--save-state', 'write the new state back to the --state file')
    .option('--query', 'call query() instead of handle()')
    .option('--request-id <hex>', '32-byte request id for ctx.requestId', `0x${'00'.repeat(32)}`)
    .option('--origin <json>', 'ctx.origin as JSON', '{"kind":"local"}')
    .option('--seed <hex>', '32-byte seed for ctx.random (default all zero)', `0x${'00'.repeat(32)}`)
    .option(
      '--contract-id <hex>',
      '32-byte contract id a module reads (context field 1)',
      `0x${'00'.repeat(32)}`,
    )
    .option('--block <n>', 'origin-chain block a module reads (context field 5)', '0')
    .option('--gas <n>', 'gas limit (default 20000000)')
    .option('--memory-mib <n>', 'memory limit in MiB (default 32)')
    .option('--json', 'print one JSON object')
    .action(async (file: string, options: RunOptions, command: Command) => {
      const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2 });
      if (!isHex(options.input.startsWith('0x') ? options.input : `0x${options.input}`))
        usage('--input: expected even-length hex');
      if (!isHex(options.requestId) || options.requestId.length !== 66)
        usage('--request-id: expected 32 bytes of 0x-hex');
      if (!isHex(options.seed) || options.seed.length !== 66) usage('--seed: expected 32 bytes of 0x-hex');
      if (!isHex(options.contractId) || options.contractId.length !== 66)
        usage('--contract-id: expected 32 bytes of 0x-hex');
      const block = Number(options.block);
      if (!Number.isSafeInteger(block) || block < 0) usage('--block: a block number');
      if (options.saveState && !options.state) usage('--save-state needs --state <file>');
      let origin: JsonValue = null;
      try {
        origin = JSON.parse(options.origin) as JsonValue;
      } catch {
        usage('--origin: expected JSON');
      }
      const gas = options.gas === undefined ? undefined : Number(options.gas);
      if (gas !== undefined && (!Number.isInteger(gas) || gas < 1 || gas > MAX_GAS))
        usage(`--gas: an integer from 1 to ${MAX_GAS}`);
      const memoryMib = options.memoryMib === undefined ? undefined : Number(options.memoryMib);
      if (memoryMib !== undefined && (!Number.isInteger(memoryMib) || memoryMib < 1 || memoryMib > 1024))
        usage('--memory-mib: an integer from 1 to 1024');

      const bytes = await readFile(file).catch(() => {
        throw new Error(`cannot read contract ${file}`);
      });
      const code = contractCodeOf(new Uint8Array(bytes));
      let state: ContractState | null = null;
      if (options.state) {
        const bytes = await readFile(options.state).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT' && options.saveState) return null;
          throw new Error(`cannot read state file ${options.state}`);
        });
        state = bytes ? parseStateFile(new Uint8Array(bytes), options.state) : null;
      }
      const kind = options.query ? 'query' : 'handle';
      const engine = await ContractEngine.start({
        memoryBytes: memoryMib ? memoryMib * 1024 * 1024 : undefined,
      });
      let outcome: SandboxOutcome;
      try {
        outcome = await engine.run({
          code,
          contractId: options.contractId as Hex,
          blockNumber: block,
          kind,
          input: fromHex(options.input, '--input'),
          state: state?.serialize() ?? null,
          requestId: options.requestId as Hex,
          origin,
          randomSeed: fromHex(options.seed, '--seed', 32),
          limits: gas ? { gas } : undefined,
        });
      } finally {
        await engine.close();
      }
      const result = report(outcome, kind);
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : printHuman(result));
      if (outcome.ok && outcome.stateChanged && options.saveState && options.state) {
        // The contract's private state, in the clear: owner-only, as any secret file.
        await writeSecretFile(
          options.state,
          `${JSON.stringify(stateFileOf(ContractState.parse(outcome.state)), null, 2)}\n`,
        );
      }
      if (!outcome.ok) process.exitCode = 1;
    });
}
