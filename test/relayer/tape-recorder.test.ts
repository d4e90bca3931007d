import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { decodeGatewayLog } from '../../src/evm/gateway/events.js';
import { describe, expect, it } from 'vitest';
import { readTape } from '../../src/protocol/tape.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import { encodeEvmLog, evmLogOf, tapeEntryOf } from '../../src/relayer/tape/entries.js';
import { TapeRecorder } from '../../src/relayer/tape/recorder.js';

const job: RequestJob = {
  v: 1,
  origin: { kind: 'evm', chainId: 31337, gateway: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  requestId: `0x${'11'.repeat(32)}`,
  contractId: `0x${'22'.repeat(32)}`,
  cluster: `0x${'33'.repeat(32)}`,
  requester: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  nonce: '0',
  sealedInput: '0x0102',
  responseKey: `0x${'44'.repeat(32)}`,
  deadline: 2_000_000_000,
  observed: {
    chain: 'evm',
    blockNumber: 7,
    blockHash: `0x${'55'.repeat(32)}`,
    txHash: `0x${'66'.repeat(32)}`,
    logIndex: 2,
    at: 1,
  },
};
const log = {
  address: job.origin.kind === 'evm' ? job.origin.gateway : '0x',
  topics: [`0x${'77'.repeat(32)}`],
  data: '0xabcdef',
} as const;

describe('tape recorder', () => {
  it('writes one entry per request whose data decodes back to the same log', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tape-')), 't.ndjson');
    const recorder = new TapeRecorder(file, pino({ level: 'silent' }), { append: false });
    recorder.record(job, { kind: 'evm.log', data: encodeEvmLog(log as never), index: 2 });
    recorder.record(job, undefined); // no raw message: skipped, not thrown
    await recorder.close();
    const [entry, ...rest] = readTape(file);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      kind: 'evm.log',
      chain: 'evm',
      block: 7,
      index: 2,
      tx: job.observed.txHash,
    });
    const back = evmLogOf(entry!);
    expect(back.address.toLowerCase()).toBe(log.address.toLowerCase());
    expect(back.topics).toEqual(log.topics);
    expect(back.data).toBe(log.data);
    // Not a gateway topic: the gateway decoder says "not mine" rather than failing.
    expect(decodeGatewayLog(back, 31337)).toBeNull();
  });

  it('never throws into the pipeline when the tape cannot be written', async () => {
    const recorder = new TapeRecorder('/nonexistent-dir/tape.ndjson', pino({ level: 'silent' }));
    const entry = tapeEntryOf(job, { kind: 'evm.log', data: '0x', index: 0 });
    expect(entry.kind).toBe('evm.log');
    expect(() => recorder.record(job, { kind: 'evm.log', data: '0x', index: 0 })).not.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => recorder.record(job, { kind: 'evm.log', data: '0x', index: 0 })).not.toThrow();
    await expect(recorder.close()).resolves.toBeUndefined();
  });

  it('keeps the transaction behind each EVM request, in recorded order, and records on when a lookup fails', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tape-')), 't.ndjson');
    const consumer = '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512';
    const delays = [40, 0, 0];
    let n = 0;
    const recorder = new TapeRecorder(file, pino({ level: 'silent' }), {
      append: false,
      transactionOf: async () => {
        const i = n++;
        await new Promise((r) => setTimeout(r, delays[i]));
        if (i === 2) throw new Error('rpc down');
        return {
          call: `0x0${i}`,
          transaction: { from: job.requester as `0x${string}`, to: consumer, value: String(i) },
        };
      },
    });
    for (const index of [0, 1, 2])
      recorder.record(job, { kind: 'evm.log', data: encodeEvmLog(log as never), index });
    await recorder.close();
    const entries = readTape(file);
    // The first lookup answers last; the tape still follows the order of the requests.
    expect(entries.map((e) => e.index)).toEqual([0, 1, 2]);
    expect(entries[0]).toMatchObject({ call: '0x00', transaction: { to: consumer, value: '0' } });
    expect(entries[1]).toMatchObject({ call: '0x01', transaction: { value: '1' } });
    expect(entries[2]!.transaction).toBeUndefined();
    expect(entries[2]!.call).toBeUndefined();
  });
});
