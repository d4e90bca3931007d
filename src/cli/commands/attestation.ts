import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { BaseError } from '../../base/errors.js';
import { acceptableTcbStatuses } from '../../gatekeeper/attestation/statuses.js';

type VerifyOptions = {
  collateral?: string;
  allow: string[];
  acceptStatus: string[];
  at?: number;
  reportData?: string;
  simCa: string[];
  development?: boolean;
  allowDebug?: boolean;
  allowServiceTd?: boolean;
  json?: boolean;
};

const HEX = /^(0x)?([0-9a-fA-F]{2})+$/;

function hexOption(_flag: string, bytes?: number[]) {
  return (value: string, previous: string[] = []): string[] => {
    const clean = value.trim();
    if (!HEX.test(clean)) throw new InvalidArgumentError('expected hex bytes');
    const length = clean.replace(/^0x/, '').length / 2;
    if (bytes && !bytes.includes(length)) {
      throw new InvalidArgumentError(`expected ${bytes.join(' or ')} bytes, got ${length}`);
    }
    return [...previous, clean];
  };
}

function unixTime(value: string): number {
  if (!/^\d{1,12}$/.test(value)) throw new InvalidArgumentError('expected unix seconds');
  return Number(value);
}

function statuses(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  for (const s of list) {
    if (!(acceptableTcbStatuses as string[]).includes(s)) {
      throw new InvalidArgumentError(`${s} is not one of ${acceptableTcbStatuses.join(', ')}`);
    }
  }
  return list;
}

/** Quote files may be raw bytes or ASCII hex (optionally 0x-prefixed, whitespace allowed). */
function quoteBytes(raw: Buffer): Uint8Array {
  const text = raw.toString('latin1').replace(/\s+/g, '');
  if (text.length > 0 && HEX.test(text)) return new Uint8Array(Buffer.from(text.replace(/^0x/, ''), 'hex'));
  return new Uint8Array(raw);
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new BaseError(`cannot read ${what} ${path} (${code})`);
  }
}

function iso(unix: number | null): string {
  return unix === null ? '-' : new Date(unix * 1000).toISOString();
}

export function registerAttestationCommand(program: Command): void {
  const attestation = program
    .command('attestation')
    .description('Verify TEE attestation quotes: sim, Intel SGX and TDX DCAP (docs/attestation.md)');
  attestation
    .command('verify')
    .description(
      'Verify a quote; exit 0 only when it is valid, its measurement allowed and its TCB status accepted',
    )
    .argument('<quote file>', 'the quote, binary or hex')
    .option('--collateral <json file>', 'DCAP collateral (dcap-qvl QuoteCollateralV3 JSON layout)')
    .option(
      '--allow <measurement hex>',
      'an allowed MRENCLAVE / MRTD / sim measurement (repeatable)',
      hexOption('--allow', [32, 48]),
      [],
    )
    .option('--accept-status <status,...>', 'accepted TCB statuses', statuses, ['UpToDate'])
    .option('--at <unix time>', 'verification time (default: now)', unixTime)
    .option('--report-data <hex>', 'the 64 report-data bytes the quote must carry', (v: string) => {
      return hexOption('--report-data', [64])(v)[0]!;
    })
    .option(
      '--sim-ca <hex>',
      'a trusted sim platform CA public key (repeatable)',
      hexOption('--sim-ca', [32]),
      [],
    )
    .option('--development', 'development mode: sim quotes from --sim-ca are accepted')
    .option('--allow-debug', 'accept DEBUG enclaves / TDs')
    .option('--allow-service-td', 'accept TD 1.5 quotes bound to a service TD')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: VerifyOptions) => {
      // Loaded here so that CLI start-up stays fast for every other command.
      const { verifyQuote, parseAttestationPolicy } = await import('../../gatekeeper/attestation/index.js');
      const expectedReportData =
        opts.reportData === undefined
          ? undefined
          : new Uint8Array(Buffer.from(opts.reportData.replace(/^0x/, ''), 'hex'));
      const quote = quoteBytes(await readInput(file, 'quote file'));
      let collateral: unknown;
      if (opts.collateral !== undefined) {
        const text = (await readInput(opts.collateral, 'collateral file')).toString('utf8');
        try {
          collateral = JSON.parse(text);
        } catch {
          throw new BaseError(`collateral file ${opts.collateral} is not JSON`);
        }
      }
      const policy = parseAttestationPolicy({
        mode: opts.development ? 'development' : 'production',
        allowedMeasurements: opts.allow,
        acceptTcbStatuses: opts.acceptStatus as never,
        simPlatformCas: opts.simCa,
        allowDebug: opts.allowDebug ?? false,
        allowServiceTd: opts.allowServiceTd ?? false,
      });
      const result = verifyQuote(quote, {
        policy,
        collateral,
        ...(opts.at !== undefined ? { at: opts.at } : {}),
        ...(expectedReportData ? { expectedReportData } : {}),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        const lines = [
          `verdict:      ${result.ok ? 'VALID' : 'INVALID'}`,
          `tee:          ${result.tee ?? '-'}`,
          `measurement:  ${result.measurement ?? '-'}`,
          `report data:  ${result.reportData ?? '-'}`,
          `tcb status:   ${result.tcbStatus ?? '-'}`,
          `advisory ids: ${result.advisoryIds.join(', ') || '-'}`,
          `issued at:    ${iso(result.issuedAt)}`,
          `valid:        ${iso(result.validFrom)} .. ${iso(result.validUntil)}`,
          ...result.reasons.map((r) => `reason:       ${r.code}: ${r.detail}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      process.exitCode = result.ok ? 0 : 1;
    });
}
