import { z } from 'zod';
import { InvalidInputError } from '../../base/errors.js';

/**
 * Limits of one contract call. Gas and the byte limits may differ per call; memory and stack are
 * properties of an engine (its WebAssembly memory is sized once, see docs/pruntime.md).
 */
export type CallLimits = {
  /** Gas budget: interpreter steps (counted 10,000 at a time), host-call charges and native builtin work (metering/costs.ts). */
  gas: number;
  /** Longest `public` output, and separately the longest `sealed` output, in bytes. */
  outputBytes: number;
  /** Largest canonical state serialization, in bytes. */
  stateBytes: number;
  /** Longest input, in bytes. */
  inputBytes: number;
  /** `ctx.log` output kept for `contract run`; later lines are dropped, never an error. */
  logBytes: number;
};

export type EngineLimits = {
  /** Heap available to a call above the engine's fixed reserve (default 32 MiB). */
  memoryBytes: number;
  /** QuickJS stack limit; deeper recursion throws a catchable stack overflow error. */
  stackBytes: number;
};

export const defaultCallLimits: Readonly<CallLimits> = Object.freeze({
  gas: 20_000_000,
  outputBytes: 64 * 1024,
  stateBytes: 1024 * 1024,
  inputBytes: 1024 * 1024,
  logBytes: 16 * 1024,
});

export const defaultEngineLimits: Readonly<EngineLimits> = Object.freeze({
  memoryBytes: 32 * 1024 * 1024,
  stackBytes: 256 * 1024,
});

/** The most gas a call may be given: about a minute of interpretation on a fast core. */
export const MAX_GAS = 2_000_000_000;

const positiveInt = (max: number) => z.number().int().min(1).max(max);

export const callLimitsSchema = z.strictObject({
  gas: positiveInt(MAX_GAS),
  outputBytes: positiveInt(16 * 1024 * 1024),
  stateBytes: positiveInt(64 * 1024 * 1024),
  inputBytes: positiveInt(16 * 1024 * 1024),
  logBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 * 1024),
});

export const engineLimitsSchema = z.strictObject({
  memoryBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .max(1024 * 1024 * 1024),
  // The engine thread's native stack is sized for this ceiling (see engine.ts).
  stackBytes: z
    .number()
    .int()
    .min(32 * 1024)
    .max(1024 * 1024),
});

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InvalidInputError(`${field}.${issue.path.join('.')}`, issue.message);
}

export function resolveCallLimits(overrides: Partial<CallLimits> | undefined): CallLimits {
  return parseOrThrow(callLimitsSchema, { ...defaultCallLimits, ...defined(overrides) }, 'limits');
}

export function resolveEngineLimits(overrides: Partial<EngineLimits> | undefined): EngineLimits {
  return parseOrThrow(engineLimitsSchema, { ...defaultEngineLimits, ...defined(overrides) }, 'engine');
}
