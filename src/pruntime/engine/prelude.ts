import { METERING_ARGUMENTS, METERING_SOURCE } from './metering/wrappers.js';

/**
 * JavaScript evaluated in every engine context before any contract code (docs/pruntime.md#sandbox).
 * It runs once per engine instance; each call then starts from a byte-identical copy of the
 * resulting memory, so its cost is not paid per call.
 *
 * It takes the single host function and returns `run(ns, input, meta)`, which calls the
 * contract's `handle` or `query` with `(input: Uint8Array, ctx)` and reports the outcome back
 * through the host function. Before returning it removes what could make a contract
 * non-deterministic or let it compile code at run time: `eval`, the `Function` constructors
 * (also reached through `(function(){}).constructor` and the generator/async variants),
 * `Math.random` and shared memory. `Date`, `WeakRef` and `FinalizationRegistry` are not in the
 * context at all (see sandbox.ts), and the wasm clock import returns 0.
 *
 * Intrinsics it needs later are captured first, so a contract that overwrites prototypes can
 * only confuse its own call; the host checks every value it receives anyway.
 *
 * Host operations (first argument of `host`): see `HostOp` in sandbox.ts. Native builtins are
 * metered by wrappers installed first (metering/wrappers.ts); gas they collect is reported before
 * the call's outcome.
 */
export const PRELUDE_SOURCE = `(function (host) {
  'use strict';
  // First, before anything is captured: the prelude's own uses of builtins are metered too.
  var meter = (${METERING_SOURCE})(host, ${METERING_ARGUMENTS});
  var G = globalThis;
  var U8 = Uint8Array, AB = ArrayBuffer, Str = String, BigIntCtor = BigInt;
  var EvalErr = EvalError, TypeErr = TypeError, RangeErr = RangeError, Err = Error;
  var freeze = Object.freeze, keys = Object.keys, defineProperty = Object.defineProperty;
  var getPrototypeOf = Object.getPrototypeOf, getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  var apply = Reflect.apply, isArray = Array.isArray, isFinite = Number.isFinite;
  var jsonParse = JSON.parse, jsonStringify = JSON.stringify;
  var typedArrayProto = getPrototypeOf(U8.prototype);
  var bufferOf = getOwnPropertyDescriptor(typedArrayProto, 'buffer').get;
  var abSlice = AB.prototype.slice;
  var arraySort = Array.prototype.sort, arrayJoin = Array.prototype.join, arrayPush = Array.prototype.push;
  var charCodeAt = Str.prototype.charCodeAt, strSlice = Str.prototype.slice, bigIntToString = BigIntCtor.prototype.toString;
  var hexPattern = /^(?:0x)?((?:[0-9a-fA-F]{2})*)$/;
  var regexExec = RegExp.prototype.exec;

  function fail(Ctor, message) { throw new Ctor(message); }
  function denied(what) {
    return function () { throw new EvalErr(what + ' is not available to contracts'); };
  }

  // Lockdown: no code from strings, no ambient randomness, no shared memory.
  var noFunction = denied('the Function constructor');
  noFunction.prototype = Function.prototype;
  var sampleFunctions = [function () {}, function* () {}, async function () {}, async function* () {}];
  for (var i = 0; i < sampleFunctions.length; i++) {
    defineProperty(getPrototypeOf(sampleFunctions[i]), 'constructor', { value: noFunction, writable: false, configurable: false });
  }
  defineProperty(G, 'Function', { value: noFunction, writable: false, configurable: false });
  defineProperty(G, 'eval', { value: denied('eval'), writable: false, configurable: false });
  defineProperty(Math, 'random', { value: denied('Math.random (use ctx.random)'), writable: false, configurable: false });
  delete G.SharedArrayBuffer;
  delete G.Atomics;
  delete G.WeakRef;
  delete G.FinalizationRegistry;
  delete G.Date;

  function copyOf(bytes) {
    return apply(bufferOf, new U8(bytes), []);
  }
  function bytesArg(value, what) {
    if (value instanceof U8) return copyOf(value);
    if (value instanceof AB) return apply(abSlice, value, [0]);
    return fail(TypeErr, what + ' must be a Uint8Array');
  }
  function keyArg(key) {
    if (typeof key === 'string') return key;
    if (key instanceof U8) return copyOf(key);
    return fail(TypeErr, 'state key must be a string or a Uint8Array');
  }
  function valueArg(value) {
    if (typeof value === 'string') return value;
    if (value instanceof U8) return copyOf(value);
    if (value instanceof AB) return apply(abSlice, value, [0]);
    return fail(TypeErr, 'state value must be a string or a Uint8Array');
  }
  function bytesResult(value) { return typeof value === 'string' || value === null ? value : new U8(value); }

  var HEX = '0123456789abcdef';
  function hexEncode(bytes) {
    if (!(bytes instanceof U8)) fail(TypeErr, 'hex.encode expects a Uint8Array');
    var out = '0x';
    for (var j = 0; j < bytes.length; j++) out += HEX[bytes[j] >> 4] + HEX[bytes[j] & 15];
    return out;
  }
  function hexDigit(c) { return c < 58 ? c - 48 : (c | 32) - 87; }
  function hexDecode(text) {
    if (typeof text !== 'string') fail(TypeErr, 'hex.decode expects a string');
    var m = apply(regexExec, hexPattern, [text]);
    if (!m) fail(TypeErr, 'hex.decode: not an even-length hex string');
    var digits = m[1], out = new U8(digits.length / 2);
    for (var j = 0; j < out.length; j++) {
      out[j] = hexDigit(apply(charCodeAt, digits, [2 * j])) * 16 + hexDigit(apply(charCodeAt, digits, [2 * j + 1]));
    }
    return out;
  }
  function utf8Encode(text) {
    if (typeof text !== 'string') fail(TypeErr, 'utf8.encode expects a string');
    return new U8(host(6, text));
  }
  function utf8Decode(bytes) { return host(7, bytesArg(bytes, 'utf8.decode input')); }

  // Canonical JSON: object keys sorted by UTF-16 code units, no whitespace (RFC 8785 order).
  function canonicalJson(value) {
    if (value === null) return 'null';
    var t = typeof value;
    if (t === 'boolean') return value ? 'true' : 'false';
    if (t === 'number') { if (!isFinite(value)) fail(TypeErr, 'json cannot encode ' + value); return jsonStringify(value); }
    if (t === 'string') return jsonStringify(value);
    if (t === 'bigint') return fail(TypeErr, 'json cannot encode a bigint; use a string');
    if (value instanceof U8 || value instanceof AB) return fail(TypeErr, 'json cannot encode bytes; use ctx.hex.encode');
    if (isArray(value)) {
      var items = [];
      for (var j = 0; j < value.length; j++) {
        var item = value[j];
        apply(arrayPush, items, [item === undefined || typeof item === 'function' ? 'null' : canonicalJson(item)]);
      }
      return '[' + apply(arrayJoin, items, [',']) + ']';
    }
    if (t === 'object') {
      var names = apply(arraySort, keys(value), []), parts = [];
      for (var k = 0; k < names.length; k++) {
        var v = value[names[k]];
        if (v === undefined || typeof v === 'function') continue;
        apply(arrayPush, parts, [jsonStringify(names[k]) + ':' + canonicalJson(v)]);
      }
      return '{' + apply(arrayJoin, parts, [',']) + '}';
    }
    return fail(TypeErr, 'json cannot encode a ' + t);
  }

  function toWire(value) {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number') { if (!isFinite(value)) fail(TypeErr, 'numbers must be finite'); return value; }
    if (typeof value === 'bigint') return { $n: apply(bigIntToString, value, []) };
    if (value instanceof U8) return { $b: hexEncode(value) };
    if (isArray(value)) {
      var out = [];
      for (var j = 0; j < value.length; j++) apply(arrayPush, out, [toWire(value[j])]);
      return out;
    }
    if (typeof value === 'object') {
      var names = keys(value), obj = {};
      for (var k = 0; k < names.length; k++) obj[names[k]] = toWire(value[names[k]]);
      return { $o: obj };
    }
    return fail(TypeErr, 'cannot encode a ' + typeof value);
  }
  function fromWire(value) {
    if (value === null || typeof value !== 'object') return value;
    if (isArray(value)) {
      var out = [];
      for (var j = 0; j < value.length; j++) apply(arrayPush, out, [fromWire(value[j])]);
      return out;
    }
    if (typeof value.$b === 'string') return hexDecode(value.$b);
    if (typeof value.$n === 'string') return BigIntCtor(value.$n);
    var inner = value.$o, obj = {}, names = keys(inner);
    for (var k = 0; k < names.length; k++) obj[names[k]] = fromWire(inner[names[k]]);
    return obj;
  }
  function typeList(types) {
    if (typeof types === 'string') return types;
    if (isArray(types)) return apply(arrayJoin, types, [',']);
    return fail(TypeErr, 'abi types must be a string or an array of strings');
  }

  var hex = freeze({ encode: hexEncode, decode: hexDecode });
  var utf8 = freeze({ encode: utf8Encode, decode: utf8Decode });
  var json = freeze({
    encode: function (value) { return utf8Encode(canonicalJson(value)); },
    decode: function (input) { return jsonParse(typeof input === 'string' ? input : utf8Decode(input)); },
  });
  var abi = freeze({
    encode: function (types, values) { return new U8(host(8, typeList(types), jsonStringify(toWire(values)))); },
    decode: function (types, bytes) { return fromWire(jsonParse(host(9, typeList(types), bytesArg(bytes, 'abi.decode input')))); },
  });
  var scale = freeze({
    encode: function (type, value) {
      if (typeof type !== 'string') fail(TypeErr, 'scale type must be a string');
      return new U8(host(11, type, jsonStringify(toWire(value))));
    },
    decode: function (type, bytes) {
      if (typeof type !== 'string') fail(TypeErr, 'scale type must be a string');
      return fromWire(jsonParse(host(12, type, bytesArg(bytes, 'scale.decode input'))));
    },
  });
  var state = freeze({
    get: function (key) { return bytesResult(host(1, keyArg(key))); },
    set: function (key, value) { host(2, keyArg(key), valueArg(value)); },
    delete: function (key) { return host(3, keyArg(key)); },
    has: function (key) { return host(4, keyArg(key)); },
  });
  function random(length) {
    if (typeof length !== 'number') fail(TypeErr, 'random expects a byte count');
    return new U8(host(5, length));
  }
  function log() {
    var parts = [];
    for (var j = 0; j < arguments.length; j++) {
      var a = arguments[j];
      var text;
      try { text = typeof a === 'string' ? a : a instanceof U8 ? hexEncode(a) : typeof a === 'bigint' ? apply(bigIntToString, a, []) + 'n' : canonicalJson(a); }
      catch (e) { text = Str(typeof a); }
      apply(arrayPush, parts, [text]);
    }
    host(10, apply(arrayJoin, parts, [' ']));
  }

  function outputBytes(value) {
    if (value === undefined || value === null) return new AB(0);
    if (typeof value === 'string') return host(6, value);
    if (value instanceof U8) return copyOf(value);
    if (value instanceof AB) return apply(abSlice, value, [0]);
    return host(6, canonicalJson(value));
  }
  function describe(error) {
    try {
      if (error instanceof Err) return Str(error.name) + ': ' + Str(error.message);
      if (typeof error === 'string') return 'thrown string: ' + apply(strSlice, error, [0, 200]);
      return 'thrown ' + (error === null ? 'null' : typeof error);
    } catch (e) {
      return 'unprintable error';
    }
  }

  return function run(ns, input, meta) {
    var call = jsonParse(meta);
    var kind = call.kind;
    var fn = ns[kind];
    if (typeof fn !== 'function') { host(14, 'InvalidContract', 'the contract does not export a function named ' + kind); return; }
    var ctx = freeze({
      requestId: call.requestId,
      origin: freeze(call.origin),
      kind: kind,
      state: state,
      random: random,
      log: log,
      hex: hex, utf8: utf8, json: json, abi: abi, scale: scale,
    });
    var out;
    try {
      out = fn(new U8(input), ctx);
    } catch (error) {
      meter.flush();
      host(13, describe(error));
      return;
    }
    meter.flush();
    if (out !== null && (typeof out === 'object' || typeof out === 'function') && typeof out.then === 'function') {
      host(14, 'InvalidResult', kind + ' returned a promise; contract calls are synchronous');
      return;
    }
    if (kind === 'handle') {
      if (out === null || typeof out !== 'object' || isArray(out)) {
        host(14, 'InvalidResult', 'handle must return an object { public, sealed }');
        return;
      }
      var publicOut = outputBytes(out.public), sealedOut = outputBytes(out.sealed);
      meter.flush();
      host(15, publicOut, sealedOut);
    } else {
      var queryOut = outputBytes(out);
      meter.flush();
      host(15, new AB(0), queryOut);
    }
  };
})`;
