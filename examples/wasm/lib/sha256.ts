// SHA-256 (FIPS 180-4) computed in the contract, for examples that measure or need in-contract
// compute. A contract that only needs a digest should call hash.sha256 (the host's, charged per
// byte) instead.

// prettier-ignore
const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

// prettier-ignore
const IV: StaticArray<u32> = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** SHA-256 state: eight words, updated one 64-byte block at a time. Reusable: no allocation per use. */
class Sha256 {
  h: StaticArray<u32> = new StaticArray<u32>(8);
  w: StaticArray<u32> = new StaticArray<u32>(64);

  constructor() {
    this.reset();
  }

  reset(): void {
    memory.copy(changetype<usize>(this.h), changetype<usize>(IV), 32);
  }

  /** Writes the digest (the state, big-endian) to the 32 bytes at `out`. */
  digestInto(out: usize): void {
    for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(unchecked(this.h[i])));
  }

  block(ptr: usize): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) unchecked((w[i] = bswap<u32>(load<u32>(ptr + (<usize>i << 2)))));
    for (let i = 16; i < 64; i++) {
      const a = unchecked(w[i - 15]);
      const b = unchecked(w[i - 2]);
      const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
      const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
      unchecked((w[i] = unchecked(w[i - 16]) + s0 + unchecked(w[i - 7]) + s1));
    }
    const h = this.h;
    let a = unchecked(h[0]);
    let b = unchecked(h[1]);
    let c = unchecked(h[2]);
    let d = unchecked(h[3]);
    let e = unchecked(h[4]);
    let f = unchecked(h[5]);
    let g = unchecked(h[6]);
    let hh = unchecked(h[7]);
    for (let i = 0; i < 64; i++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = hh + S1 + ch + unchecked(K[i]) + unchecked(w[i]);
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    unchecked((h[0] += a));
    unchecked((h[1] += b));
    unchecked((h[2] += c));
    unchecked((h[3] += d));
    unchecked((h[4] += e));
    unchecked((h[5] += f));
    unchecked((h[6] += g));
    unchecked((h[7] += hh));
  }
}

/** The SHA-256 digest of `len` bytes at `ptr`, written to the 32 bytes at `out`. */
export function sha256Into(ptr: usize, len: i32, out: usize): void {
  const s = new Sha256();
  const full = len & ~63;
  for (let at = 0; at < full; at += 64) s.block(ptr + <usize>at);
  // The last block(s): the rest, 0x80, zeros, the bit length big-endian.
  const tail = new StaticArray<u8>(128);
  const tailPtr = changetype<usize>(tail);
  const rest = len - full;
  memory.copy(tailPtr, ptr + <usize>full, rest);
  store<u8>(tailPtr + <usize>rest, 0x80);
  const tailLen = rest < 56 ? 64 : 128;
  store<u64>(tailPtr + <usize>tailLen - 8, bswap<u64>(<u64>len << 3));
  s.block(tailPtr);
  if (tailLen == 128) s.block(tailPtr + 64);
  s.digestInto(out);
}

/** The SHA-256 digest of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  sha256Into(data.dataStart, data.length, out.dataStart);
  return out;
}

/**
 * A hash chain: h0 = seed (32 bytes), h(i+1) = SHA-256(h(i)); returns h(rounds). Each round is
 * one padded block and nothing is allocated per round.
 */
export function sha256Chain(seed: Uint8Array, rounds: u32): Uint8Array {
  assert(seed.length == 32, "sha256Chain: the seed is 32 bytes");
  const s = new Sha256();
  const block = new StaticArray<u8>(64);
  const blockPtr = changetype<usize>(block);
  memory.copy(blockPtr, seed.dataStart, 32);
  store<u8>(blockPtr + 32, 0x80);
  store<u64>(blockPtr + 56, bswap<u64>(256));
  for (let i: u32 = 0; i < rounds; i++) {
    s.reset();
    s.block(blockPtr);
    s.digestInto(blockPtr);
  }
  const out = new Uint8Array(32);
  memory.copy(out.dataStart, blockPtr, 32);
  return out;
}
