import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { equalBytes } from '../../../base/bytes.js';
import { InvalidInputError } from '../../../base/errors.js';
import type { TeePlatform } from '../platform.js';
import { PlatformError } from './errors.js';
import { expectReportData, readQuoteFields } from './quote-layout.js';

export type GraminePlatformOptions = { devicePath?: string };

const SOURCE = 'Gramine';

/**
 * SGX with Gramine: everything through Gramine's `/dev/attestation` pseudo-files:
 * `attestation_type` (must be `dcap`), `my_target_info` (MRENCLAVE is its first 32 bytes),
 * `user_report_data` (write 64 bytes) then `quote` (read the DCAP quote Gramine's QE made for
 * them), and `keys/_sgx_mrenclave` (the hardware sealing key for this MRENCLAVE).
 */
export class GraminePlatform implements TeePlatform {
  readonly tee = 'sgx-dcap' as const;
  readonly #dir: string;

  constructor(options: GraminePlatformOptions = {}) {
    this.#dir = options.devicePath ?? '/dev/attestation';
  }

  async #read(name: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(path.join(this.#dir, name)));
    } catch (cause) {
      throw new PlatformError(
        'Cannot read the Gramine attestation interface.',
        `${this.#dir}/${name}`,
        cause,
      );
    }
  }

  async #checkType(): Promise<void> {
    const type = new TextDecoder().decode(await this.#read('attestation_type')).trim();
    if (type !== 'dcap')
      throw new PlatformError(
        'Gramine is not configured for DCAP attestation.',
        `attestation_type is "${type.slice(0, 40)}"`,
      );
  }

  async measurement(): Promise<Uint8Array> {
    const targetInfo = await this.#read('my_target_info');
    if (targetInfo.length < 32)
      throw new PlatformError('Malformed my_target_info.', `${targetInfo.length} bytes`);
    return targetInfo.slice(0, 32);
  }

  async sealingSecret(): Promise<Uint8Array> {
    const key = await this.#read('keys/_sgx_mrenclave');
    if (key.length < 16) throw new PlatformError('Malformed sealing key.', `${key.length} bytes`);
    return key;
  }

  async quote(reportData: Uint8Array): Promise<Uint8Array> {
    if (reportData.length !== 64) throw new InvalidInputError('reportData', '64 bytes');
    await this.#checkType();
    try {
      await writeFile(path.join(this.#dir, 'user_report_data'), reportData);
    } catch (cause) {
      throw new PlatformError('Cannot write report data to Gramine.', `${this.#dir}/user_report_data`, cause);
    }
    const quote = await this.#read('quote');
    // The quote must be for this enclave and for what was asked; anything else is a confused interface.
    const fields = readQuoteFields(quote, SOURCE);
    if (fields.tee !== 'sgx')
      throw new PlatformError(`${SOURCE} returned a ${fields.tee.toUpperCase()} quote, expected SGX.`);
    if (!equalBytes(fields.measurement, await this.measurement()))
      throw new PlatformError(
        `${SOURCE} returned a quote for another enclave.`,
        'MRENCLAVE differs from my_target_info',
      );
    expectReportData(fields, reportData, SOURCE);
    return quote;
  }
}
