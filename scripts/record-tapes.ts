/**
 * Records the tapes under test/tapes/ from a real devnet run (seeded, so they replay on a fresh
 * one): greeter requests from an EVM account, from Phala-style accounts and from sibling accounts
 * over XCM, each awaited before the next. The relayer's recording is split by flow; the outputs
 * as they landed are the golden tapes. Run: node --import tsx scripts/record-tapes.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devnetClients } from '../src/devnet/evm/clients.js';
import { devSigner } from '../src/phala/signers.js';
import { type TapeEntry, TapeWriter, readTape } from '../src/protocol/tape.js';
import { requestFromEvm } from '../src/sdk/evm.js';
import { requestFromPhala } from '../src/sdk/phala.js';
import { requestFromSibling } from '../src/sdk/sibling.js';
import { expectFulfilled, startDevnet } from '../src/testing/index.js';
import { fulfilmentEntry } from '../src/testing/outcomes.js';

const out = path.resolve(process.argv[2] ?? 'test/tapes');
const dir = mkdtempSync(path.join(os.tmpdir(), 'record-tapes-'));
const recording = path.join(dir, 'recorded.ndjson');
const devnet = await startDevnet({ recordTape: recording, onProgress: (l) => console.log(l) });
const outputs: TapeEntry[] = [];
try {
  const greeter = devnet.contracts.greeter.contractId;
  const evm = devnetClients(devnet.chains.evm, devnet.chains.evm.accounts[2]!.privateKey);
  for (const name of ['evm-ada', 'evm-grace']) {
    const sent = await requestFromEvm({
      sender: evm.walletClient,
      publicClient: evm.publicClient,
      gateway: devnet.chains.evm.gateway,
      contractId: greeter,
      input: name,
    });
    await expectFulfilled(devnet, sent, { publicOutput: `hello, ${name}!` });
    outputs.push((await fulfilmentEntry(devnet, { kind: 'evm', requestId: sent.requestId }))!);
  }
  for (const [who, name] of [
    ['Dave', 'phala-dave'],
    ['Eve', 'phala-eve'],
  ] as const) {
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner(who),
      contractId: greeter,
      input: name,
    });
    await expectFulfilled(devnet, sent, { publicOutput: `hello, ${name}!` });
    outputs.push((await fulfilmentEntry(devnet, { kind: 'phala', requestId: sent.requestId }))!);
  }
  for (const [who, name] of [
    ['Dave', 'xcm-dave'],
    ['Ferdie', 'xcm-ferdie'],
  ] as const) {
    const sent = await requestFromSibling(
      { sibling: devnet.sibling, phala: devnet.phala },
      { signer: await devSigner(who), contractId: greeter, input: name },
    );
    await expectFulfilled(devnet, sent, { publicOutput: `hello, ${name}!`, timeoutMs: 180_000 });
    outputs.push((await fulfilmentEntry(devnet, { kind: 'xcm', query: sent.query }))!);
  }
} finally {
  await devnet.stop();
}
const recorded = readTape(recording);
const flows = { evm: 'evm.log', phala: 'substrate.event', xcm: 'xcm.message' } as const;
for (const [flow, kind] of Object.entries(flows)) {
  const write = async (file: string, entries: TapeEntry[]) => {
    const writer = new TapeWriter(path.join(out, file));
    for (const e of entries) writer.write(e);
    await writer.close();
  };
  await write(
    `${flow}.ndjson`,
    recorded.filter((e) => e.kind === kind),
  );
  const outKind = flow === 'evm' ? 'evm.log' : flow === 'phala' ? 'substrate.event' : 'xcm.message';
  await write(
    `${flow}.golden.ndjson`,
    outputs.filter((e) => e.kind === outKind),
  );
  console.log(`${flow}: ${recorded.filter((e) => e.kind === kind).length} requests`);
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
