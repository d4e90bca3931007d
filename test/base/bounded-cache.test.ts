import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../src/base/bounded-cache.js';

describe('BoundedCache', () => {
  it('computes each key once, keeps at most its limit, and drops the oldest first', () => {
    const cache = new BoundedCache<string, number>(2);
    let made = 0;
    const make = (v: number) => () => {
      made++;
      return v;
    };
    expect(cache.get('a', make(1))).toBe(1);
    expect(cache.get('a', make(9))).toBe(1);
    expect(made).toBe(1);
    cache.get('b', make(2));
    cache.get('c', make(3)); // full: 'a' goes
    expect(cache.size).toBe(2);
    expect(cache.get('a', make(4))).toBe(4); // made again; now 'b' went
    expect(cache.get('c', make(8))).toBe(3);
    expect(cache.get('b', make(5))).toBe(5);
    expect(made).toBe(5);
  });

  it('keeps falsy values too', () => {
    const cache = new BoundedCache<string, number>(4);
    let made = 0;
    const make = (v: number) => () => {
      made++;
      return v;
    };
    cache.get('zero', make(0));
    expect(cache.get('zero', make(1))).toBe(0);
    expect(made).toBe(1);
  });
});
