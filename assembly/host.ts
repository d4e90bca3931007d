// The host functions of docs/wasm-host-interface.md, as the module imports them. Everything else
// in the SDK is built on these; contracts normally use the typed wrappers in the other files.

// @ts-ignore: decorator
@external("phala", "input")
export declare function input(ptr: usize, cap: u32): i32;

// @ts-ignore: decorator
@external("phala", "context")
export declare function context(field: u32, ptr: usize, cap: u32): i32;

// @ts-ignore: decorator
@external("phala", "state_get")
export declare function state_get(kptr: usize, klen: u32, vptr: usize, vcap: u32): i32;

// @ts-ignore: decorator
@external("phala", "state_set")
export declare function state_set(kptr: usize, klen: u32, vptr: usize, vlen: u32): void;

// @ts-ignore: decorator
@external("phala", "state_delete")
export declare function state_delete(kptr: usize, klen: u32): i32;

// @ts-ignore: decorator
@external("phala", "output")
export declare function output(pptr: usize, plen: u32, sptr: usize, slen: u32): void;

// @ts-ignore: decorator
@external("phala", "log")
export declare function log(ptr: usize, len: u32): void;

// @ts-ignore: decorator
@external("phala", "hash")
export declare function hash(alg: u32, ptr: usize, len: u32, out: usize): void;

// @ts-ignore: decorator
@external("phala", "random")
export declare function random(ptr: usize, len: u32): void;

// @ts-ignore: decorator
@external("phala", "fail")
export declare function fail(ptr: usize, len: u32): void;
