import { readdirSync, readFileSync } from 'node:fs';
import { sharedVector } from '../helpers/shared.js';

/** One captured message from ../shared/vectors/xcm (see its README.md). */
export type XcmVector = {
  file: string;
  version: 'V2' | 'V3' | 'V4' | 'V5';
  hex: `0x${string}`;
  rawTransportHex?: `0x${string}`;
  byteLength: number;
  messageHash_blake2_256: `0x${string}`;
  topic: `0x${string}` | null;
  expectedMessageId: `0x${string}`;
  recorded?: { messageHash?: string; messageId?: string };
  recordedEvents?: Record<
    string,
    { chainId: string; blockNumber: string; blockHash: string; value: Record<string, unknown> }
  >;
  instructions: string[];
  decoded: unknown;
};

export function loadXcmVectors(): XcmVector[] {
  const dir = sharedVector('xcm');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file,
      ...(JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Omit<XcmVector, 'file'>),
    }));
}
