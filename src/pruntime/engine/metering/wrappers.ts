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
 * never reach an original (no wrapped intrinsic is handed out by another one; `arguments` objects
 * do carry the original `Array.prototype.values`, which is why iteration is not metered here), so
 * no path runs the native code unmetered. `RegExp.prototype.exec` alone is locked (see below).
 * The copying constructors (typed arrays, Map, Set) are replaced the same way (see the end).
 *
 * Rules each wrapper follows, so results and exceptions stay those of the builtin:
 * - sizes are read only where no contract code can run: a real array's `length` (a data
 *   property), a typed array's length through the captured internal getter, a primitive
 *   string's length, a regex's own `lastIndex` data property; the one exception is an
 *   array-like receiver of an Array method with an accessor `length`, called once more;
 * - where the builtin's first step is `ToString(this)` (most String methods) or
 *   `ToString(text)` (`JSON.parse`, `RegExp.prototype.exec` after its receiver check), the
 *   wrapper does that conversion itself and passes the primitive on: same conversion, same order,
 *   done once;
 * - arguments are passed on as given, or as three fixed parameters where the builtin treats an
 *   explicit undefined exactly as a missing argument (not for splice, lastIndexOf or variadic ones);
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
 * values, `+` on long strings, spread (`[...a]`, `f(...a)`) and object spread; also Map/Set
 * construction from native iterators other than arrays, maps and sets. See
 * docs/pruntime.md#metering-builtins.
 */
const SOURCE = `(function (host, COST, FLUSH, CHARGE) {
  'use strict';
  var apply = Reflect.apply, defineProperty = Object.defineProperty, getPrototypeOf = Object.getPrototypeOf;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor, objectKeys = Object.keys;
  var isArray = Array.isArray, ceil = Math.ceil, clz32 = Math.clz32;
  // uncurry(f)(self, a, b) is f.call(self, a, b): no argument array, no lookup of a 'call' that
  // contract code could replace.
  var uncurry = Function.prototype.bind.bind(Function.prototype.call);
  var toStringOf = uncurry(String.prototype.concat);
  var TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
  var typedLengthOf = uncurry(getOwnPropertyDescriptor(TypedArrayProto, 'length').get);
  var globalOf = uncurry(getOwnPropertyDescriptor(RegExp.prototype, 'global').get);
  var stickyOf = uncurry(getOwnPropertyDescriptor(RegExp.prototype, 'sticky').get);
  // Gas is summed unrounded here and rounded up when reported.
  var pending = 0;

  function flush() {
    if (pending > 0) { var gas = ceil(pending); pending = 0; host(CHARGE, gas); }
  }
  function nlogn(n) { return n > 1 ? n * (n < 4294967296 ? 32 - clz32(n) : 53) : 0; }
  function typedLen(x) {
    try { return typedLengthOf(x); } catch (e) { return 0; }
  }
  var hasOwn = uncurry(Object.prototype.hasOwnProperty), floor = Math.floor;
  // Elements of a real array or a typed array; 0 for anything whose size would run contract code.
  function size(x) {
    if (isArray(x)) return x.length;
    return x !== null && typeof x === 'object' ? typedLen(x) : 0;
  }
  // The receiver of an Array method may be any array-like: the builtin loops to its 'length'
  // natively ({ length: 1e9 } would be a second of work per call). Its length is read from the
  // property descriptor, so a data property runs no contract code; an accessor 'length' is called
  // here once more than the builtin calls it (the one visible difference, for array-likes only).
  function receiverSize(x) {
    if (isArray(x)) return x.length;
    if (typeof x === 'string') return x.length;
    if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return 0;
    var n = typedLen(x);
    if (n > 0) return n;
    for (var o = x; o !== null; o = getPrototypeOf(o)) {
      var d = getOwnPropertyDescriptor(o, 'length');
      if (d === undefined) continue;
      var v = hasOwn(d, 'value') ? d.value : d.get !== undefined ? apply(d.get, x, []) : undefined;
      return typeof v === 'number' && v > 0 ? floor(v < 9007199254740991 ? v : 9007199254740991) : 0;
    }
    return 0;
  }
  function toStr(x) { return typeof x === 'string' ? x : toStringOf('', x); }

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
  function each(target, names, make) {
    for (var i = 0; i < names.length; i++) install(target, names[i], make);
  }

  // Wrappers are methods (not function expressions): like builtins they are not constructors.
  // Most take three fixed parameters and pass them on: for the builtins they wrap, an explicit
  // undefined means the same as a missing argument. Those where it does not (splice,
  // lastIndexOf) or that are variadic (concat, unshift, assign) pass 'arguments' on instead.

  // Arrays and typed arrays: charged before by the receiver's elements, after by the result's.
  function elements(cost, resultCost) {
    return function (original) {
      var f = uncurry(original);
      return { m(a, b, c) {
        if (cost !== 0) pending += receiverSize(this) * cost;
        if (pending >= FLUSH) flush();
        var r = f(this, a, b, c);
        if (resultCost !== 0 && typeof r === 'object' && r !== null) {
          pending += size(r) * resultCost;
          if (pending >= FLUSH) flush();
        }
        return r;
      } }.m;
    };
  }
  function elementsVariadic(cost, resultCost) {
    return function (original) {
      return { m() {
        if (cost !== 0) pending += receiverSize(this) * cost;
        if (pending >= FLUSH) flush();
        var r = apply(original, this, arguments);
        if (resultCost !== 0 && typeof r === 'object' && r !== null) {
          pending += size(r) * resultCost;
          if (pending >= FLUSH) flush();
        }
        return r;
      } }.m;
    };
  }
  function sorting(plainCost) {
    return function (original) {
      var f = uncurry(original);
      return { m(comparator) {
        pending += nlogn(receiverSize(this)) * (comparator === undefined ? plainCost : COST.comparatorSort);
        if (pending >= FLUSH) flush();
        return f(this, comparator);
      } }.m;
    };
  }
  // Strings whose builtin starts with ToString(this): converted once here, charged by the
  // receiver (and a string first argument) before, by a string result after.
  function chars(original) {
    var f = uncurry(original), cost = COST.char;
    return { m(a, b, c) {
      var s = this;
      if (typeof s !== 'string' && s != null) s = toStringOf('', s);
      if (typeof s === 'string') pending += s.length * cost;
      if (typeof a === 'string') pending += a.length * cost;
      if (pending >= FLUSH) flush();
      var r = f(s, a, b, c);
      if (typeof r === 'string') { pending += r.length * cost; if (pending >= FLUSH) flush(); }
      return r;
    } }.m;
  }
  function charsVariadic(original) {
    var cost = COST.char;
    return { m() {
      var s = this;
      if (typeof s !== 'string' && s != null) s = toStringOf('', s);
      if (typeof s === 'string') pending += s.length * cost;
      if (pending >= FLUSH) flush();
      var r = apply(original, s, arguments);
      if (typeof r === 'string') { pending += r.length * cost; if (pending >= FLUSH) flush(); }
      return r;
    } }.m;
  }
  // Entry points that look at their pattern first (the receiver, or for RegExp methods the
  // subject argument, is converted by the builtin): a primitive subject is charged before, the
  // result after.
  function subject(onReceiver) {
    return function (original) {
      var f = uncurry(original), cost = COST.char, piece = COST.piece;
      return { m(a, b) {
        var x = onReceiver ? this : a;
        if (typeof x === 'string') { pending += x.length * cost; if (pending >= FLUSH) flush(); }
        var r = f(this, a, b);
        if (typeof r === 'string') pending += r.length * cost;
        else if (isArray(r)) pending += r.length * piece;
        if (pending >= FLUSH) flush();
        return r;
      } }.m;
    };
  }
  function resultSized(cost) {
    return function (original) {
      var f = uncurry(original);
      return { m(a, b, c) {
        var r = f(this, a, b, c);
        pending += (typeof r === 'string' ? r.length : size(r)) * cost;
        if (pending >= FLUSH) flush();
        return r;
      } }.m;
    };
  }

  var AP = Array.prototype;
  each(AP, ['sort', 'toSorted'], sorting(COST.arraySort));
  each(AP, ['join', 'toLocaleString'], function (original) {
    var f = uncurry(original);
    return { m(separator) {
      pending += receiverSize(this) * COST.joinElement;
      if (pending >= FLUSH) flush();
      var r = f(this, separator);
      if (typeof r === 'string') { pending += r.length * COST.char; if (pending >= FLUSH) flush(); }
      return r;
    } }.m;
  });
  each(AP, ['reverse', 'toReversed', 'fill', 'copyWithin', 'indexOf', 'includes', 'slice', 'with', 'shift'],
    elements(COST.arrayElement, COST.arrayElement));
  each(AP, ['lastIndexOf', 'splice', 'toSpliced', 'unshift'], elementsVariadic(COST.arrayElement, COST.arrayElement));
  // Callback methods: the callbacks poll, but holes are skipped natively, and a sparse array or
  // an array-like can be long without elements ([].length = 1e9).
  each(AP, ['forEach', 'map', 'filter', 'some', 'every', 'find', 'findIndex', 'findLast', 'findLastIndex', 'flatMap'],
    elements(COST.arrayElement, 0));
  each(AP, ['reduce', 'reduceRight'], elementsVariadic(COST.arrayElement, 0));
  install(AP, 'concat', function (original) {
    return { m() {
      var n = receiverSize(this);
      for (var i = 0; i < arguments.length; i++) n += size(arguments[i]);
      pending += n * COST.arrayElement;
      if (pending >= FLUSH) flush();
      var r = apply(original, this, arguments);
      pending += size(r) * COST.copyElement;
      if (pending >= FLUSH) flush();
      return r;
    } }.m;
  });
  install(AP, 'flat', elements(0, COST.copyElement));
  install(Array, 'from', function (original) {
    var f = uncurry(original);
    return { m(items, mapFn, thisArg) {
      var n = size(items);
      pending += n * COST.copyElement;
      if (pending >= FLUSH) flush();
      var r = f(this, items, mapFn, thisArg);
      if (n === 0) { pending += size(r) * COST.copyElement; if (pending >= FLUSH) flush(); }
      return r;
    } }.m;
  });

  var TP = TypedArrayProto;
  each(TP, ['sort', 'toSorted'], sorting(COST.typedSort));
  each(TP, ['fill', 'copyWithin', 'reverse', 'toReversed', 'indexOf', 'includes', 'slice', 'with'],
    elements(COST.typedElement, 0));
  install(TP, 'lastIndexOf', elementsVariadic(COST.typedElement, 0));
  install(TP, 'set', function (original) {
    var f = uncurry(original);
    return { m(source, offset) {
      pending += size(source) * COST.typedElement;
      if (pending >= FLUSH) flush();
      return f(this, source, offset);
    } }.m;
  });
  install(TP, 'join', elements(COST.joinElement, 0));

  var SP = String.prototype;
  each(SP, ['indexOf', 'lastIndexOf', 'includes', 'startsWith', 'endsWith', 'localeCompare', 'repeat',
    'padStart', 'padEnd', 'normalize', 'toUpperCase', 'toLowerCase', 'toLocaleUpperCase', 'toLocaleLowerCase',
    'trim', 'trimStart', 'trimEnd', 'slice', 'substring', 'substr', 'isWellFormed', 'toWellFormed'], chars);
  install(SP, 'concat', charsVariadic);
  each(SP, ['split', 'replace', 'replaceAll', 'match', 'matchAll', 'search'], subject(true));

  install(RegExp.prototype, 'exec', function (original) {
    var f = uncurry(original), perCall = COST.regexCall, perChar = COST.regexChar;
    return {
      m(string) {
        var global, sticky;
        try { global = globalOf(this); sticky = stickyOf(this); } catch (e) { return f(this, string); }
        var s = typeof string === 'string' ? string : toStringOf('', string);
        var start = 0;
        if (global === true || sticky === true) { start = this.lastIndex; if (typeof start !== 'number') start = 0; }
        pending += perCall;
        if (pending >= FLUSH) flush();
        var r = f(this, s);
        var end = r === null ? (sticky === true ? start + 1 : s.length) : r.index + r[0].length;
        if (end > start) { pending += (end - start) * perChar; if (pending >= FLUSH) flush(); }
        return r;
      },
    }.m;
  // Locked: were it deleted or made non-callable, every regex path would fall back to the
  // unmetered built-in exec.
  }, true);
  // A regex instance with an own non-callable exec still falls back to the built-in one: the
  // regex methods themselves also charge by subject and result size.
  each(RegExp.prototype, ['test', Symbol.match, Symbol.matchAll, Symbol.replace, Symbol.search, Symbol.split], subject(false));

  install(JSON, 'parse', function (original) {
    var f = uncurry(original);
    return {
      m(text, reviver) {
        var s = typeof text === 'string' ? text : toStringOf('', text);
        pending += s.length * COST.jsonChar;
        if (pending >= FLUSH) flush();
        return f(this, s, reviver);
      },
    }.m;
  });
  install(JSON, 'stringify', resultSized(COST.jsonChar));

  each(Object, ['keys', 'values', 'entries', 'getOwnPropertyNames', 'getOwnPropertySymbols'], resultSized(COST.property));
  install(Object, 'assign', function (original) {
    return { m(target) {
      for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i];
        if (source !== null && typeof source === 'object') pending += (isArray(source) ? source.length : objectKeys(source).length) * COST.property;
      }
      if (pending >= FLUSH) flush();
      return apply(original, this, arguments);
    } }.m;
  });
  install(Object, 'fromEntries', function (original) {
    var f = uncurry(original);
    return { m(entries) {
      pending += size(entries) * COST.property;
      if (pending >= FLUSH) flush();
      return f(this, entries);
    } }.m;
  });
  install(BigInt.prototype, 'toString', resultSized(COST.bigintDigit));

  // Constructors that copy their argument: typed arrays (from an array, a typed array or a length)
  // and Map/Set (from an iterable). The global is replaced by a constructor that charges and then
  // constructs the original with the same arguments and new.target; it shares the original's
  // prototype (so instanceof, subclassing and species behave as before), takes its static
  // properties, and becomes prototype.constructor, so the original is reachable from nowhere.
  var construct = Reflect.construct, ownKeys = Reflect.ownKeys, setPrototypeOf = Object.setPrototypeOf;
  var mapSizeOf = uncurry(getOwnPropertyDescriptor(Map.prototype, 'size').get);
  var setSizeOf = uncurry(getOwnPropertyDescriptor(Set.prototype, 'size').get);
  function collectionSize(x) {
    if (x === null || typeof x !== 'object') return 0;
    try { return mapSizeOf(x); } catch (e) {}
    try { return setSizeOf(x); } catch (e) {}
    return size(x);
  }
  function installConstructor(name, units) {
    var Original = G[name];
    if (typeof Original !== 'function') return;
    var Wrapper = function () {
      if (new.target === undefined) return apply(Original, this, arguments);
      var gas = units(arguments[0]);
      if (gas > 0) { pending += gas; if (pending >= FLUSH) flush(); }
      return construct(Original, arguments, new.target === Wrapper ? Original : new.target);
    };
    var names = ownKeys(Original);
    for (var i = 0; i < names.length; i++) {
      var key = names[i];
      if (key !== 'prototype') defineProperty(Wrapper, key, getOwnPropertyDescriptor(Original, key));
    }
    defineProperty(Wrapper, 'prototype', { value: Original.prototype, writable: false, enumerable: false, configurable: false });
    setPrototypeOf(Wrapper, getPrototypeOf(Original));
    defineProperty(Original.prototype, 'constructor', { value: Wrapper, writable: true, enumerable: false, configurable: true });
    defineProperty(G, name, { value: Wrapper, writable: true, enumerable: false, configurable: true });
  }
  var G = globalThis;
  var typedNames = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'Float32Array', 'Float64Array'];
  for (var t = 0; t < typedNames.length; t++) {
    installConstructor(typedNames[t], function (source) {
      if (typeof source === 'number') return source > 0 ? source * COST.typedElement : 0;
      if (isArray(source)) return source.length * COST.arrayElement;
      return size(source) * COST.typedElement;
    });
  }
  installConstructor('Map', function (source) { return collectionSize(source) * COST.property; });
  installConstructor('Set', function (source) { return collectionSize(source) * COST.property; });

  return { flush: flush };
})`;

/** The metering installer's source, costs filled in; the prelude calls it with its host function. */
export const METERING_SOURCE = `${SOURCE}`;

export const METERING_ARGUMENTS = `${JSON.stringify(BUILTIN_COSTS)}, ${METER_FLUSH_GAS}, ${CHARGE_HOST_OP}`;
