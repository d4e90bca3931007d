import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { fromHex } from '../../src/base/bytes.js';
import {
  buildRequestProgram,
  buildResponseProgram,
  decodeXcm,
  encodeXcm,
  fungibleAsset,
  MemoryXcmTrackerStore,
  parent,
  preloadXcmTypes,
  XcmTracker,
  type XcmTrackerBlock,
} from '../../src/xcm/index.js';
import type { BenchReport } from '../index.js';

export const name = 'xcm';

type Sample = { label: string; bytes: Uint8Array };

/** The captured messages in ../shared/vectors/xcm, else messages from the builders. */
function samples(): Sample[] {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const dir = path.join(process.env.PHALA_BRIDGE_SHARED ?? path.resolve(root, '../shared'), 'vectors', 'xcm');
  if (existsSync(dir)) {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({
        label: f.replace(/\.json$/, ''),
        bytes: fromHex((JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { hex: string }).hex),
      }));
  }
  const topic = `0x${'42'.repeat(32)}` as const;
  const fees = fungibleAsset(parent(), 10n ** 10n);
  return [
    { label: 'request (built)', bytes: buildRequestProgram({ fees, call: '0x2a00', topic }).bytes },
    {
      label: 'response (built)',
      bytes: buildResponseProgram({ payment: { kind: 'unpaid' }, call: '0x2b00', topic }).bytes,
    },
  ];
}

const mean = (bench: Bench, i: number) =>
  (bench.tasks[i]?.result as { latency: { mean: number } } | undefined)?.latency.mean ?? Number.NaN;

/** Decode (pre-scan + @polkadot/types + id) and re-encode (strict JSON check + encode + decode check) of each message. */
export async function run(): Promise<BenchReport> {
  const t0 = performance.now();
  preloadXcmTypes();
  const registryMs = performance.now() - t0;
  const all = samples();
  const table: BenchReport['table'] = [];
  for (const s of all) {
    const json = decodeXcm(s.bytes).json;
    const allowV2 = s.bytes[0] === 2;
    const bench = new Bench({ time: 150, warmupTime: 50 });
    bench.add('decode', () => decodeXcm(s.bytes)).add('encode', () => encodeXcm(json, { allowV2 }));
    await bench.run();
    const [decode, encode] = [mean(bench, 0), mean(bench, 1)];
    table.push({
      message: s.label,
      bytes: s.bytes.length,
      'decode (µs)': Math.round(decode * 1000),
      're-encode (µs)': Math.round(encode * 1000),
      'decode+re-encode (msg/s)': Math.round(1000 / (decode + encode)),
    });
  }
  const totalBytes = all.reduce((n, s) => n + s.bytes.length, 0);
  const bench = new Bench({ time: 1_000, warmupTime: 200 });
  bench.add('all', () => {
    for (const s of all) encodeXcm(decodeXcm(s.bytes).json, { allowV2: s.bytes[0] === 2 });
  });
  await bench.run();
  const perRound = mean(bench, 0);
  const messagesPerSecond = Math.round((all.length * 1000) / perRound);
  table.push({
    message: `all ${all.length} (round robin)`,
    bytes: totalBytes,
    'decode (µs)': '',
    're-encode (µs)': '',
    'decode+re-encode (msg/s)': messagesPerSecond,
  });
  const tracker = await trackerThroughput();
  table.push({
    message: `tracker: ${tracker.blocks} blocks, 2 messages each (memory store)`,
    bytes: '',
    'decode (µs)': '',
    're-encode (µs)': '',
    'decode+re-encode (msg/s)': '',
    'tracker blocks/s': tracker.blocksPerSecond,
  });
  return {
    table,
    figures: {
      trackerBlocksPerSecond: tracker.blocksPerSecond,
      messages: all.length,
      registryLoadMs: Math.round(registryMs),
      decodeReencodeMessagesPerSecond: messagesPerSecond,
      decodeReencodeKiBPerSecond: Math.round((totalBytes * 1000) / perRound / 1024),
    },
  };
}

/** Tracker ingest: sent on one chain, processed on another, each block validated and committed. */
async function trackerThroughput(): Promise<{ blocks: number; blocksPerSecond: number }> {
  const tracker = new XcmTracker({ store: new MemoryXcmTrackerStore() });
  const hex = (n: number, tag: number) =>
    `0x${tag.toString(16).padStart(2, '0')}${n.toString(16).padStart(62, '0')}` as const;
  const blocks: XcmTrackerBlock[] = [];
  const n = 2000;
  for (let i = 0; i < n; i++) {
    blocks.push({
      chain: i % 2 ? 'phala' : 'sibling',
      number: i,
      hash: hex(i, 0xbb),
      at: 1_700_000_000_000 + i,
      events: [
        { kind: 'sent', index: 0, source: 'polkadotXcm.Sent', id: hex(i, 1), hash: hex(i, 2) },
        { kind: 'processed', index: 1, source: 'messageQueue.Processed', id: hex(i - 1, 1), success: true },
      ],
    });
  }
  const t0 = performance.now();
  for (const b of blocks) await tracker.ingest(b);
  return { blocks: n, blocksPerSecond: Math.round((n * 1000) / (performance.now() - t0)) };
}
