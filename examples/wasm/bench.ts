// The WebAssembly contract `npm run bench -- --only pruntime` measures, beside the same algorithms
// as plain JavaScript in V8 and as a QuickJS contract. Input: one byte saying what to compute, then
// its argument.
//   1: fib(n), n a u32 little-endian in bytes 1..4, computed recursively; public: fib(n) as u32 LE.
//   2: SHA-256 of the rest of the input, computed in the contract (not the host's hash);
//      public: the 32-byte digest.
//   3: SHA-256 of n bytes made in the contract, byte i = i & 255 (n a u32 LE in bytes 1..4): a
//      megabyte without a megabyte of input (a call's input is at most 1 MiB); public: the digest.
//   anything else (an empty input too): an empty output, for the cost of a trivial call.
import { fail, input, output } from "../../assembly/index";
import { sha256 } from "./lib/sha256";

function fib(n: u32): u32 {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export function handle(): void {
  const data = input();
  const op = data.length > 0 ? data[0] : 0;
  if (op == 1) {
    if (data.length < 5) fail("bench: fib needs n as a u32 little-endian");
    const result = new Uint8Array(4);
    store<u32>(result.dataStart, fib(load<u32>(data.dataStart + 1)));
    output(result, new Uint8Array(0));
  } else if (op == 2) {
    output(sha256(data.subarray(1)), new Uint8Array(0));
  } else if (op == 3) {
    if (data.length < 5) fail("bench: sha256 of a pattern needs n as a u32 little-endian");
    const message = new Uint8Array(load<u32>(data.dataStart + 1));
    for (let i = 0; i < message.length; i++) unchecked((message[i] = <u8>i));
    output(sha256(message), new Uint8Array(0));
  } else {
    output(new Uint8Array(0), new Uint8Array(0));
  }
}
