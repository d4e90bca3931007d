import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BaseError } from '../../base/errors.js';
import { type Certificate, parseCertificate, pemChain } from './x509.js';

/**
 * The pinned Intel SGX Root CA (intel-sgx-root-ca.pem beside this file). Its SHA-256 fingerprint
 * is Intel's published one; a file that does not match it is refused at load time, so a swapped
 * PEM cannot silently become the trust anchor.
 */
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

let cached: Certificate | undefined;

export function intelSgxRootCa(): Certificate {
  if (cached) return cached;
  const text = readFileSync(new URL('./intel-sgx-root-ca.pem', import.meta.url), 'utf8');
  // The file starts with a comment naming the certificate; only the PEM block is the anchor.
  const block = text.slice(text.indexOf('-----BEGIN CERTIFICATE-----'));
  const [der, ...rest] = pemChain(block);
  const fingerprint = der ? createHash('sha256').update(der).digest('hex') : '';
  if (!der || rest.length > 0 || fingerprint !== INTEL_SGX_ROOT_CA_SHA256) {
    throw new BaseError('The pinned Intel SGX Root CA does not match its published fingerprint', {
      details: `got ${fingerprint || 'no certificate'}`,
    });
  }
  cached = parseCertificate(der);
  return cached;
}
