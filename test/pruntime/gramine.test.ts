import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/base/bytes.js';
import {
  Enclave,
  GraminePlatform,
  IdentityUnsealError,
  PlatformError,
  createTeePlatform,
} from '../../src/pruntime/enclave/index.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';

/**
 * No SGX hardware here: a temporary directory stands in for Gramine's /dev/attestation, with the
 * files Gramine exposes (attestation_type, my_target_info, keys/_sgx_mrenclave, user_report_data,
 * quote). The "quote" is a synthetic SGX quote v3 layout with MRENCLAVE and report data at their
 * real offsets; test/pruntime/tee-providers.test.ts runs this provider on real quotes through the
 * gatekeeper's verification.
 */
const MRENCLAVE = new Uint8Array(32).fill(0x3e);
const dirs: string[] = [];
let engine: ContractEngine;

function fakeAttestationDir(type = 'dcap', sealingKey = new Uint8Array(16).fill(0x5e)): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'attestation-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'attestation_type'), `${type}\n`);
  const targetInfo = new Uint8Array(512);
  targetInfo.set(MRENCLAVE, 0);
  writeFileSync(path.join(dir, 'my_target_info'), targetInfo);
  mkdirSync(path.join(dir, 'keys'));
  writeFileSync(path.join(dir, 'keys', '_sgx_mrenclave'), sealingKey);
  return dir;
}

function syntheticQuote(mrenclave: Uint8Array, reportData: Uint8Array): Uint8Array {
  const quote = new Uint8Array(48 + 384 + 4 + 64);
  quote.set([3, 0, 2, 0], 0); // version 3, ECDSA-256 attestation key type
  quote.set(mrenclave, 48 + 64);
  quote.set(reportData, 48 + 320);
  return quote;
}

beforeAll(async () => {
  engine = await ContractEngine.start();
});
afterAll(async () => {
  await engine?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('Gramine provider (temp dir standing in for /dev/attestation; no SGX hardware here)', () => {
  it('takes the measurement from my_target_info and seals with the MRENCLAVE sealing key', async () => {
    const device = fakeAttestationDir();
    const data = mkdtempSync(path.join(os.tmpdir(), 'gramine-data-'));
    dirs.push(data);
    const enclave = await Enclave.open({
      dataDir: data,
      platform: new GraminePlatform({ devicePath: device }),
      engine,
    });
    expect(enclave.tee).toBe('sgx-dcap');
    expect(enclave.measurement).toBe(toHex(MRENCLAVE));
    const again = await Enclave.open({
      dataDir: data,
      platform: createTeePlatform({ provider: 'gramine', devicePath: device }),
      engine,
    });
    expect(again.publicIdentity).toEqual(enclave.publicIdentity);
    // Another enclave build gets another hardware sealing key and cannot open the identity.
    const otherBuild = fakeAttestationDir('dcap', new Uint8Array(16).fill(0x5f));
    await expect(
      Enclave.open({ dataDir: data, platform: new GraminePlatform({ devicePath: otherBuild }), engine }),
    ).rejects.toBeInstanceOf(IdentityUnsealError);
  });

  it('writes the report data binding the worker keys and returns the quote Gramine produced', async () => {
    const device = fakeAttestationDir();
    const data = mkdtempSync(path.join(os.tmpdir(), 'gramine-data-'));
    dirs.push(data);
    const enclave = await Enclave.open({
      dataDir: data,
      platform: new GraminePlatform({ devicePath: device }),
      engine,
    });
    const reportData = enclave.reportData();
    const quote = syntheticQuote(MRENCLAVE, reportData);
    writeFileSync(path.join(device, 'quote'), quote);
    expect(toHex(await enclave.quote())).toBe(toHex(quote));
    expect(toHex(readFileSync(path.join(device, 'user_report_data')))).toBe(toHex(reportData));
  });

  it('refuses a quote over other report data or for another enclave, and a non-DCAP configuration', async () => {
    const device = fakeAttestationDir();
    const platform = new GraminePlatform({ devicePath: device });
    const reportData = new Uint8Array(64).fill(1);
    writeFileSync(path.join(device, 'quote'), syntheticQuote(MRENCLAVE, new Uint8Array(64).fill(2)));
    await expect(platform.quote(reportData)).rejects.toThrow(/other report data/);
    writeFileSync(path.join(device, 'quote'), syntheticQuote(new Uint8Array(32), reportData));
    await expect(platform.quote(reportData)).rejects.toThrow(/another enclave/);
    writeFileSync(path.join(device, 'quote'), new Uint8Array(10));
    await expect(platform.quote(reportData)).rejects.toBeInstanceOf(PlatformError);
    const none = new GraminePlatform({ devicePath: fakeAttestationDir('none') });
    await expect(none.quote(reportData)).rejects.toThrow(/not configured for DCAP/);
    await expect(
      new GraminePlatform({ devicePath: '/nonexistent/attestation' }).measurement(),
    ).rejects.toBeInstanceOf(PlatformError);
  });

  it('is chosen by config, and bad configs get one clear error', () => {
    expect(createTeePlatform({ provider: 'gramine' }).tee).toBe('sgx-dcap');
    const sim = createTeePlatform({
      provider: 'sim',
      platformCaKey: `0x${'01'.repeat(32)}`,
      platformSecret: `0x${'02'.repeat(32)}`,
    });
    expect(sim.tee).toBe('sim');
    expect(() =>
      createTeePlatform({ provider: 'sim', platformCaKey: '0x01', platformSecret: `0x${'02'.repeat(32)}` }),
    ).toThrow(/attestation\.platformCaKey/);
  });
});
