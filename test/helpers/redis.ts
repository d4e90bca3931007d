import { randomBytes } from 'node:crypto';

/** The real Redis that tests use; each test file takes its own key prefix so runs never collide. */
export const REDIS_URL = process.env.PHALA_BRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label: string): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}
