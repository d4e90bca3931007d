import { children, DerError, type DerNode, expect, oid, readDer, smallInteger, TAG } from './der.js';
import { type Certificate, OID } from './x509.js';

/**
 * Intel's SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1; Intel SGX PCK Certificate
 * and CRL Profile): a SEQUENCE of (OID, value) pairs; the TCB entry nests 16 component SVNs, the
 * PCE SVN and the CPU SVN the same way. These are what the TCB levels of a TCB info are matched on.
 */
export type SgxExtension = {
  ppid: Uint8Array;
  /** The 16 SGX TCB component SVNs (OIDs ...13.1.2.1 to .16). */
  cpuSvnComponents: number[];
  cpuSvn: Uint8Array;
  pceSvn: number;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  sgxType: number;
};

const base = OID.sgxExtension;

function pairs(node: DerNode): Map<string, DerNode> {
  const out = new Map<string, DerNode>();
  for (const entry of children(node, TAG.sequence)) {
    const [name, value, ...extra] = children(entry, TAG.sequence);
    if (!name || !value || extra.length) throw new DerError('SGX extension: bad entry');
    const id = oid(name);
    if (out.has(id)) throw new DerError(`SGX extension: duplicate ${id}`);
    out.set(id, value);
  }
  return out;
}

function octets(node: DerNode | undefined, length: number, what: string): Uint8Array {
  const value = expect(node, TAG.octetString).value;
  if (value.length !== length) throw new DerError(`SGX extension: ${what} must be ${length} bytes`);
  return value;
}

function svn(node: DerNode | undefined, max: number, what: string): number {
  if (!node) throw new DerError(`SGX extension: ${what} missing`);
  const n = smallInteger(node);
  if (n > max) throw new DerError(`SGX extension: ${what} out of range`);
  return n;
}

export function parseSgxExtension(cert: Certificate): SgxExtension {
  const ext = cert.extensions.get(OID.sgxExtension);
  if (!ext) throw new DerError('PCK certificate has no SGX extension');
  const top = pairs(readDer(ext.value));
  const tcb = pairs(expect(top.get(`${base}.2`), TAG.sequence));
  const cpuSvnComponents: number[] = [];
  for (let n = 1; n <= 16; n++) cpuSvnComponents.push(svn(tcb.get(`${base}.2.${n}`), 255, `SVN ${n}`));
  const cpuSvn = octets(tcb.get(`${base}.2.18`), 16, 'CPUSVN');
  // The CPU SVN bytes and the 16 component SVNs are the same numbers written twice; a certificate
  // where they differ is not one Intel issued.
  if (cpuSvnComponents.some((v, i) => v !== cpuSvn[i])) {
    throw new DerError('SGX extension: CPUSVN disagrees with its components');
  }
  const sgxTypeNode = top.get(`${base}.5`);
  return {
    ppid: octets(top.get(`${base}.1`), 16, 'PPID'),
    cpuSvnComponents,
    cpuSvn,
    pceSvn: svn(tcb.get(`${base}.2.17`), 0xffff, 'PCESVN'),
    pceId: octets(top.get(`${base}.3`), 2, 'PCE-ID'),
    fmspc: octets(top.get(`${base}.4`), 6, 'FMSPC'),
    sgxType: sgxTypeNode ? smallInteger(sgxTypeNode, TAG.enumerated) : 0,
  };
}
