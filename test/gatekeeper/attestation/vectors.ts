import { readFileSync } from 'node:fs';
import { sharedVector } from '../../helpers/shared.js';

/**
 * The public SGX/TDX quotes and collateral in test/vectors/sgx (copied from ../shared/vectors/sgx;
 * see test/vectors/README.md). Quote files are binary or ASCII hex (optionally 0x-prefixed).
 */
export const sgxDir = sharedVector('sgx');

export const quoteFiles = [
  'dcap-qvl__sample_sgx_quote',
  'phala-blockchain__sgx-attestation_sample_dcap_quote',
  'automata__data_quote_sgx.bin',
  'automata__samples_quotev3.hex',
  'dcap-qvl__sample_tdx_quote',
  'dcap-qvl__sample_tdx-quote.hex',
  'dcap-qvl__sample_quote-from-tappd.hex',
  'automata__data_quote_tdx.bin',
  'automata__samples_quotev4.hex',
  'automata__samples_quotev5.dat',
  'automata__quotes_tdx_quote_5.dat',
  'go-tdx-guest__tdx_prod_quote_SPR_E4.dat',
  'go-tdx-guest__quote_v5_sample.dat',
] as const;

export function readQuote(name: string): Uint8Array {
  const raw = readFileSync(`${sgxDir}/${name}`);
  if (name.endsWith('.hex'))
    return new Uint8Array(Buffer.from(raw.toString('latin1').trim().replace(/^0x/, ''), 'hex'));
  return new Uint8Array(raw);
}

export type ParsedReport = Record<string, string | number>;
export type ParsedVector = {
  total_len: number;
  header: Record<string, string | number>;
  body?: { type: number; size: number };
  report: ParsedReport;
  signed_len: number;
  signature_data_len: number;
  trailing_bytes: number;
  quote_signature: string;
  attestation_key: string;
  qe_report: ParsedReport;
  qe_report_signature: string;
  qe_auth_data: string;
  cert_type: number;
  cert_data_len: number;
  outer_cert_type?: number;
  pck_chain: { subject: string; issuer: string; not_before: string; not_after: string; sha256_fp: string }[];
  fmspc: string;
};

export function readParsed(name: string): ParsedVector {
  return JSON.parse(readFileSync(`${sgxDir}/${name}.parsed.json`, 'utf8')) as ParsedVector;
}

export function readCollateral(name: string): Record<string, string> {
  return JSON.parse(readFileSync(`${sgxDir}/${name}`, 'utf8')) as Record<string, string>;
}

export const SGX_QUOTE = 'dcap-qvl__sample_sgx_quote';
export const SGX_COLLATERAL = 'dcap-qvl__sample_sgx_quote_collateral.json';
export const TDX_QUOTE = 'dcap-qvl__sample_tdx_quote';
export const TDX_COLLATERAL = 'dcap-qvl__sample_tdx_quote_collateral.json';
export const SGX_MRENCLAVE = '0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb';
export const TDX_MRTD =
  '0x91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7';
/** A time inside both sample collaterals' validity windows (README.txt). */
export const IN_WINDOW = 1_751_000_000;
