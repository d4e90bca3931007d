import { InvalidArgumentError } from 'commander';
import { fromHex } from '../base/bytes.js';
import { errorMessage } from '../base/errors.js';

export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** A commander argument parser for hex, so bad hex is a usage error (exit 2) naming the flag. */
export function hexArgument(field: string, length?: number) {
  return (value: string): Uint8Array => {
    try {
      return fromHex(value, field, length);
    } catch (error) {
      throw new InvalidArgumentError(errorMessage(error));
    }
  };
}

/** A commander argument parser for a whole number in [min, max]; a bad one is a usage error naming the flag. */
export function integerArgument(flag: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}`);
    return n;
  };
}

export function choiceArgument<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return value as T;
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

/** A commander argument parser for a WebSocket endpoint (`ws://` or `wss://`). */
export function wsUrlArgument(value: string): string {
  if (!/^wss?:\/\/./.test(value)) throw new InvalidArgumentError('expected a ws:// or wss:// URL');
  return value;
}
