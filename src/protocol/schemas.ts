import { z } from 'zod';

/** Field schemas shared by every wire format: bytes travel as 0x-hex. */
export const hexSchema = z
  .string()
  .regex(/^0x(?:[0-9a-fA-F]{2})*$/, 'even-length 0x-hex') as z.ZodType<`0x${string}`>;
export const hex32Schema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte 0x-hex value') as z.ZodType<`0x${string}`>;
export const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'a 20-byte 0x-hex address') as z.ZodType<`0x${string}`>;
/** Unsigned integers too large for a JS number travel as decimal strings. */
export const uintStringSchema = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'a decimal unsigned integer');
