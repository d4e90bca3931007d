import { BUILTIN_COSTS, METER_FLUSH_GAS } from './costs.js';

/** The host operation the wrappers report gas with (see `HostOp` in sandbox.ts). */
export const CHARGE_HOST_OP = 16;

/**
 * Metering of native builtins, installed by the prelude before anything else runs
 * (docs/pruntime.md#metering-builtins).
 *
 * Why wrappers in the prelude and not a patched engine: the engine is the pinned, measured
 * quickjs-emscripten release build; patching QuickJS's C sources means building and pinning our
 * own wasm (and its toolchain) and re-measuring it. Wrappers use only the public object model:
 * each metered builtin is replaced, on its prototype, by a small method that charges gas and then
 * calls the captured original with the same receiver and arguments. The originals live only in
 * this closure: contract code can replace or delete a wrapper as it could the builtin, but it can
 * never reach an original (no intrinsic hands out another intrinsic), so no path runs the native
 * code unmetered. `RegExp.prototype.exec` alone is locked (see below).
 *
 * Rules each wrapper follows, so results and exceptions stay those of the builtin:
 * - sizes are read only where no contract code can run: a real array's `length` (a data
 *   property), a typed array's length through the captured internal getter, a primitive
 *   string's length, a regex's own `lastIndex` data property;
 * - where the builtin's first step is `ToString(this)` (most String methods) or
 *   `ToString(text)` (`JSON.parse`, `RegExp.prototype.exec` after its receiver check), the
 *   wrapper does that conversion itself and passes the primitive on: same conversion, same order,
 *   done once;
 * - a size known before the work is charged before it (a sort beyond the budget never runs);
 *   output-sized work (join, stringify, repeat, Object.keys…) is charged after, by the size of
 *   what it built, which memory bounds anyway.
 *
 * Regular expressions: QuickJS's regex engine itself polls the interrupt handler every 10,000
 * backtracking steps, so a catastrophic pattern ends in `OutOfGas` like any loop (nothing is
 * refused up front); but each execution starts a fresh count, so many short scans (a global
 * replace) never poll. Every regex path (`test`, `match`, `matchAll`, `replace`, `search`,
 * `split`) goes through `RegExp.prototype.exec`, which is charged per call and per character it
 * advanced.
 *
 * Not covered (operators, not methods, so no wrapper can see them): BigInt arithmetic on huge
 * values, `+` on long strings, spread (`[...a]`, `f(...a)`) and object spread. See
 * docs/pruntime.md#metering-builtins.
 */
const SOURCE = `(function (host, COST, FLUSH, CHARGE) {
  'use strict';
  var apply = Reflect.apply, defineProperty = Object.defineProperty, getPrototypeOf = Object.getPrototypeOf;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor, objectKeys = Object.keys;
  var isArray = Array.isArray, ceil = Math.ceil, clz32 = Math.clz32;
  var strConcat = String.prototype.concat;
  var TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
  var typedLength = getOwnPropertyDescriptor(TypedArrayProto, 'length').get;
  var regexGlobal = getOwnPropertyDescriptor(RegExp.prototype, 'global').get;
  var regexSticky = getOwnPropertyDescriptor(RegExp.prototype, 'sticky').get;
  var pending = 0;

  function flush() {
    var gas = pending;
    if (gas > 0) { pending = 0; host(CHARGE, gas); }
  }
  function charge(units, cost) {
    if (units > 0) {
      pending += ceil(units * cost);
      if (pending >= FLUSH) flush();
    }
  }
  function nlogn(n) { return n > 1 ? n * (32 - clz32(n)) : 0; }
  function typedLen(x) {
    try { return apply(typedLength, x, []); } catch (e) { return -1; }
  }
  // Elements of a real array or a typed array; 0 for anything whose size would run contract code.
  function size(x) {
    if (isArray(x)) return x.length;
    if (x !== null && typeof x === 'object') { var n = typedLen(x); if (n > 0) return n; }
    return 0;
  }
  function outSize(r) { return typeof r === 'string' ? r.length : size(r); }
  function toStr(x) { return typeof x === 'string' ? x : apply(strConcat, '', [x]); }

  // The wrapper takes the builtin's place with the builtin's attributes (writable, configurable):
  // a contract may replace or delete it like any builtin, which only takes the method away from
  // itself, as the original is reachable from nowhere. The exception is locked (see its install).
  function install(target, key, make, locked) {
    var original = target[key];
    if (typeof original !== 'function') return;
    var wrapper = make(original);
    defineProperty(wrapper, 'length', { value: original.length, configurable: true });
    defineProperty(wrapper, 'name', { value: original.name, configurable: true });
    defineProperty(target, key, { value: wrapper, writable: !locked, enumerable: false, configurable: !locked });
  }
  // Methods (not function expressions): like builtins they are not constructors.
  function metered(before, after) {
    return function (original) {
      return {
        m() {
          if (before) before(this, arguments);
          var r = apply(original, this, arguments);
          if (after) after(r, this, arguments);
          return r;
        },
      }.m;
    };
  }
  // String methods whose first step is ToString(this): convert once here, then charge.
  function stringMethod(argChars) {
    return function (original) {
      return {
        m() {
          var s = this == null ? this : toStr(this);
          if (typeof s === 'string') {
            var units = s.length;
            if (argChars && typeof arguments[0] === 'string') units += arguments[0].length;
            charge(units, COST.char);
          }
          var r = apply(original, s, arguments);
          if (typeof r === 'string') charge(r.length, COST.char);
          return r;
        },
      }.m;
    };
  }
  function each(target, names, make) {
    for (var i = 0; i < names.length; i++) install(target, names[i], make);
  }

  var AP = Array.prototype;
  function sortCost(self, args, plain) {
    return args[0] === undefined ? plain : COST.comparatorSort;
  }
  var arraySort = metered(function (self, args) { charge(nlogn(size(self)), sortCost(self, args, COST.arraySort)); });
  each(AP, ['sort', 'toSorted'], arraySort);
  each(AP, ['join', 'toLocaleString'], metered(
    function (self) { charge(size(self), COST.joinElement); },
    function (r) { charge(outSize(r), COST.char); }));
  each(AP, ['reverse', 'toReversed', 'fill', 'copyWithin', 'indexOf', 'lastIndexOf', 'includes',
    'slice', 'splice', 'toSpliced', 'with', 'shift', 'unshift'], metered(
    function (self) { charge(size(self), COST.arrayElement); },
    function (r) { if (typeof r === 'object') charge(size(r), COST.arrayElement); }));
  each(AP, ['concat', 'flat'], metered(null, function (r) { charge(size(r), COST.copyElement); }));
  install(Array, 'from', metered(function (self, args) { charge(size(args[0]), COST.copyElement); },
    function (r, self, args) { if (size(args[0]) === 0) charge(size(r), COST.copyElement); }));

  var TP = TypedArrayProto;
  each(TP, ['sort', 'toSorted'], metered(function (self, args) { charge(nlogn(size(self)), sortCost(self, args, COST.typedSort)); }));
  each(TP, ['fill', 'copyWithin', 'reverse', 'toReversed', 'indexOf', 'lastIndexOf', 'includes', 'slice', 'with'], metered(
    function (self) { charge(size(self), COST.typedElement); }));
  install(TP, 'set', metered(function (self, args) { charge(size(args[0]), COST.typedElement); }));
  install(TP, 'join', metered(function (self) { charge(size(self), COST.joinElement); }));

  var SP = String.prototype;
  each(SP, ['indexOf', 'lastIndexOf', 'includes', 'startsWith', 'endsWith', 'localeCompare'], stringMethod(true));
  each(SP, ['concat', 'repeat', 'padStart', 'padEnd', 'normalize', 'toUpperCase', 'toLowerCase',
    'toLocaleUpperCase', 'toLocaleLowerCase', 'trim', 'trimStart', 'trimEnd', 'slice', 'substring',
    'substr', 'isWellFormed', 'toWellFormed'], stringMethod(false));
  // These first look at their pattern argument (a RegExp hands them to its exec); the receiver
  // is converted by the builtin, so only a primitive one is charged up front.
  each(SP, ['split', 'replace', 'replaceAll', 'match', 'matchAll', 'search'], metered(
    function (self) { if (typeof self === 'string') charge(self.length, COST.char); },
    function (r) { if (typeof r === 'string') charge(r.length, COST.char); else if (isArray(r)) charge(r.length, COST.piece); }));

  install(RegExp.prototype, 'exec', function (original) {
    return {
      m(string) {
        var global;
        try { global = apply(regexGlobal, this, []); } catch (e) { return apply(original, this, arguments); }
        var s = toStr(string);
        var sticky = apply(regexSticky, this, []) === true;
        var start = (global === true || sticky) && typeof this.lastIndex === 'number' ? this.lastIndex : 0;
        charge(1, COST.regexCall);
        var r = apply(original, this, [s]);
        var end = r === null ? (sticky ? start + 1 : s.length) : r.index + r[0].length;
        charge(end - start, COST.regexChar);
        return r;
      },
    }.m;
  // Locked: were it deleted or made non-callable, every regex path would fall back to the
  // unmetered built-in exec.
  }, true);
  // A regex instance with an own non-callable exec still falls back to the built-in one: the
  // regex methods themselves also charge by subject and result size.
  var RP = RegExp.prototype;
  each(RP, ['test', Symbol.match, Symbol.matchAll, Symbol.replace, Symbol.search, Symbol.split], metered(
    function (self, args) { if (typeof args[0] === 'string') charge(args[0].length, COST.regexChar); },
    function (r) { if (typeof r === 'string') charge(r.length, COST.char); else if (isArray(r)) charge(r.length, COST.piece); }));

  install(JSON, 'parse', function (original) {
    return {
      m(text) {
        var s = toStr(text);
        charge(s.length, COST.jsonChar);
        return apply(original, this, arguments.length > 1 ? [s, arguments[1]] : [s]);
      },
    }.m;
  });
  install(JSON, 'stringify', metered(null, function (r) { charge(outSize(r), COST.jsonChar); }));

  each(Object, ['keys', 'values', 'entries', 'getOwnPropertyNames', 'getOwnPropertySymbols'], metered(null,
    function (r) { charge(size(r), COST.property); }));
  install(Object, 'assign', metered(function (self, args) {
    for (var i = 1; i < args.length; i++) {
      var source = args[i];
      if (source !== null && typeof source === 'object') charge(isArray(source) ? source.length : objectKeys(source).length, COST.property);
    }
  }));
  install(Object, 'fromEntries', metered(function (self, args) { charge(size(args[0]), COST.property); }));
  install(BigInt.prototype, 'toString', metered(null, function (r) { charge(outSize(r), COST.bigintDigit); }));

  return { flush: flush };
})`;

/** The metering installer's source, costs filled in; the prelude calls it with its host function. */
export const METERING_SOURCE = `${SOURCE}`;

export const METERING_ARGUMENTS = `${JSON.stringify(BUILTIN_COSTS)}, ${METER_FLUSH_GAS}, ${CHARGE_HOST_OP}`;
