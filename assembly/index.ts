// phala-bridge's contract SDK for AssemblyScript: the host interface of docs/wasm-host-interface.md
// as typed functions. A contract exports `handle()` (a request) and/or `query()` (a read-only
// query), reads its input with `input()` and answers with `output()` or `reply()`.
// Import it as "phala-bridge/assembly" (asc resolves that to node_modules/phala-bridge/assembly/
// index.ts). Guide: docs/wasm-contracts.md.
export { input, inputString, output, reply, log, fail, random } from "./call";
export { Context, OriginKind, CallKind, originKindName, contextField } from "./context";
export { state } from "./state";
export { hash } from "./hash";
export { utf8, hex, bytesEqual, concat } from "./encoding";
export { U256, AbiWriter, AbiReader } from "./abi";
export { JsonObject, jsonString, jsonArray, jsonStringMember, jsonWithoutMember } from "./json";
export { bytesOf } from "./bytes";
export { phalaAbort } from "./abort";
