import type { CallContext, Env } from '../runtime/context.js';
import { DispatchFailure } from '../runtime/errors.js';
import {
  type Pallet,
  call,
  defineErrors,
  defineEvents,
  definePallet,
  storageValue,
  weight,
} from '../runtime/pallet.js';
import { AccountId, Balance, MultiAddress, type MultiAddressValue } from '../runtime/types.js';
import { t } from '../scale/ty.js';
import { System, systemEvents, systemStorage } from './system.js';

export const BALANCES = 'Balances';
const CRATE = 'pallet_balances';

export const balancesStorage = {
  TotalIssuance: storageValue({
    value: Balance,
    default: 0n,
    docs: [' The total units issued in the system.'],
  }),
  InactiveIssuance: storageValue({
    value: Balance,
    default: 0n,
    docs: [' The total units of outstanding deactivated balance in the system.'],
  }),
};

export const balancesEvents = defineEvents(BALANCES, CRATE, {
  Endowed: {
    index: 0,
    fields: { account: AccountId, freeBalance: Balance },
    docs: ['An account was created with some free balance.'],
  },
  DustLost: {
    index: 1,
    fields: { account: AccountId, amount: Balance },
    docs: [
      'An account was removed whose balance was non-zero but below ExistentialDeposit, resulting in an outright loss.',
    ],
  },
  Transfer: {
    index: 2,
    fields: { from: AccountId, to: AccountId, amount: Balance },
    docs: ['Transfer succeeded.'],
  },
  BalanceSet: { index: 3, fields: { who: AccountId, free: Balance }, docs: ['A balance was set by root.'] },
  Deposit: {
    index: 7,
    fields: { who: AccountId, amount: Balance },
    docs: ['Some amount was deposited (e.g. for transaction fees).'],
  },
  Withdraw: {
    index: 8,
    fields: { who: AccountId, amount: Balance },
    docs: ['Some amount was withdrawn from the account (e.g. for transaction fees).'],
  },
  Minted: {
    index: 10,
    fields: { who: AccountId, amount: Balance },
    docs: ['Some amount was minted into an account.'],
  },
  Burned: {
    index: 11,
    fields: { who: AccountId, amount: Balance },
    docs: ['Some amount was burned from an account.'],
  },
});

export const balancesErrors = defineErrors(BALANCES, CRATE, {
  VestingBalance: 'Vesting balance too high to send value.',
  LiquidityRestrictions: 'Account liquidity restrictions prevent withdrawal.',
  InsufficientBalance: 'Balance too low to send value.',
  ExistentialDeposit: 'Value too low to create account due to existential deposit.',
  Expendability: 'Transfer/payment would kill account.',
  ExistingVestingSchedule: 'A vesting schedule already exists for this account.',
  DeadAccount: 'Beneficiary account must pre-exist.',
  TooManyReserves: 'Number of named reserves exceed `MaxReserves`.',
  TooManyHolds: 'Number of holds exceed `VariantCountOf<T::RuntimeHoldReason>`.',
  TooManyFreezes: 'Number of freezes exceed `MaxFreezes`.',
  IssuanceDeactivated: 'The issuance cannot be modified since it is already deactivated.',
  DeltaZero: 'The delta cannot be zero.',
});

export type BalancesConfig = {
  existentialDeposit: bigint;
  /** Genesis balances. */
  endowed: [account: Uint8Array, amount: bigint][];
};

/** The runtime's `Balances::ExistentialDeposit`. */
function ed(env: Env): bigint {
  return env.runtime.constant(BALANCES, 'ExistentialDeposit') as bigint;
}

/** The account a `MultiAddress` names (`Id` and `Address32`; others cannot be looked up here). */
export function lookup(address: MultiAddressValue): Uint8Array {
  if (address.tag === 'Id' || address.tag === 'Address32') return address.value as Uint8Array;
  throw DispatchFailure.cannotLookup();
}

function signed(ctx: CallContext): Uint8Array {
  if (ctx.origin.kind !== 'signed') throw DispatchFailure.badOrigin();
  return ctx.origin.account;
}

function root(ctx: CallContext): void {
  if (ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
}

function sameAccount(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** Sets an account's free balance, creating or reaping it as FRAME does (providers, events). */
function setFree(env: Env, who: Uint8Array, free: bigint): void {
  const info = System.account(env, who);
  const existed = info.providers > 0;
  if (free < ed(env)) {
    if (existed) {
      if (free > 0n) {
        balancesEvents.emit(env, 'DustLost', { account: who, amount: free });
        balancesStorage.TotalIssuance.mutate(env, (x) => x - free);
      }
      // Reaped: the account's nonce and data go with it.
      systemStorage.Account.remove(env, who);
      systemEvents.emit(env, 'KilledAccount', { account: who });
    }
    return;
  }
  if (!existed) {
    System.setAccount(env, who, { ...info, providers: 1, data: { ...info.data, free } });
    systemEvents.emit(env, 'NewAccount', { account: who });
    balancesEvents.emit(env, 'Endowed', { account: who, freeBalance: free });
    return;
  }
  System.setAccount(env, who, { ...info, data: { ...info.data, free } });
}

export const Balances = {
  free(env: Env, who: Uint8Array): bigint {
    return System.account(env, who).data.free;
  },
  existentialDeposit(env: Env): bigint {
    return ed(env);
  },
  /**
   * Moves `amount` from `from` to `to`. `keepAlive` refuses to take `from` below the existential
   * deposit (Token::NotExpendable); otherwise `from` may be reaped.
   */
  transfer(env: Env, from: Uint8Array, to: Uint8Array, amount: bigint, keepAlive: boolean): void {
    if (amount === 0n || sameAccount(from, to)) return;
    const fromFree = Balances.free(env, from);
    if (fromFree < amount) throw DispatchFailure.token('FundsUnavailable');
    const remaining = fromFree - amount;
    if (keepAlive && remaining < ed(env)) throw DispatchFailure.token('NotExpendable');
    const toFree = Balances.free(env, to);
    if (toFree + amount < ed(env)) throw DispatchFailure.token('BelowMinimum');
    setFree(env, to, toFree + amount);
    setFree(env, from, remaining);
    balancesEvents.emit(env, 'Transfer', { from, to, amount });
  },
  /** Withdraws a fee, never reaping the account (fails with Token::FundsUnavailable instead). */
  withdrawFee(env: Env, who: Uint8Array, amount: bigint): void {
    const free = Balances.free(env, who);
    if (free < amount + ed(env)) throw DispatchFailure.token('FundsUnavailable');
    setFree(env, who, free - amount);
    balancesStorage.TotalIssuance.mutate(env, (x) => x - amount);
    balancesEvents.emit(env, 'Withdraw', { who, amount });
  },
  /**
   * Takes `amount` out of an account (burning it from the issuance), as XCM's WithdrawAsset does;
   * `keepAlive` refuses to reap the account. Emits Balances.Withdraw.
   */
  withdraw(env: Env, who: Uint8Array, amount: bigint, keepAlive = true): void {
    const free = Balances.free(env, who);
    if (free < amount) throw DispatchFailure.token('FundsUnavailable');
    if (keepAlive && free - amount < ed(env)) throw DispatchFailure.token('NotExpendable');
    setFree(env, who, free - amount);
    balancesStorage.TotalIssuance.mutate(env, (x) => x - amount);
    balancesEvents.emit(env, 'Withdraw', { who, amount });
  },
  /** Adds `amount` to an account (minting it into the issuance), as XCM's DepositAsset does. Emits Balances.Deposit. */
  deposit(env: Env, who: Uint8Array, amount: bigint): void {
    const free = Balances.free(env, who);
    if (free + amount < ed(env)) throw DispatchFailure.token('BelowMinimum');
    setFree(env, who, free + amount);
    balancesStorage.TotalIssuance.mutate(env, (x) => x + amount);
    balancesEvents.emit(env, 'Deposit', { who, amount });
  },
  /** Mints into an account (genesis and root). */
  mint(env: Env, who: Uint8Array, amount: bigint): void {
    setFree(env, who, Balances.free(env, who) + amount);
    balancesStorage.TotalIssuance.mutate(env, (x) => x + amount);
  },
};

export function balancesPallet(config: BalancesConfig): Pallet {
  const value = t.compact(Balance);
  return definePallet({
    name: BALANCES,
    crate: CRATE,
    storage: balancesStorage,
    events: balancesEvents,
    errors: balancesErrors,
    calls: {
      transferAllowDeath: call({
        index: 0,
        args: { dest: MultiAddress, value },
        typeNames: { dest: 'AccountIdLookupOf<T>', value: 'T::Balance' },
        weight: weight(200_000_000, 3_593),
        docs: ['Transfer some liquid free balance to another account.'],
        handler(ctx, args) {
          Balances.transfer(ctx, signed(ctx), lookup(args.dest), args.value, false);
        },
      }),
      forceTransfer: call({
        index: 2,
        args: { source: MultiAddress, dest: MultiAddress, value },
        typeNames: { source: 'AccountIdLookupOf<T>', dest: 'AccountIdLookupOf<T>', value: 'T::Balance' },
        weight: weight(200_000_000, 6_196),
        docs: [
          'Exactly as `transfer_allow_death`, except the origin must be root and the source account may be specified.',
        ],
        handler(ctx, args) {
          root(ctx);
          Balances.transfer(ctx, lookup(args.source), lookup(args.dest), args.value, false);
        },
      }),
      transferKeepAlive: call({
        index: 3,
        args: { dest: MultiAddress, value },
        typeNames: { dest: 'AccountIdLookupOf<T>', value: 'T::Balance' },
        weight: weight(150_000_000, 3_593),
        docs: [
          'Same as the `transfer_allow_death` call, but with a check that the transfer will not kill the origin account.',
        ],
        handler(ctx, args) {
          Balances.transfer(ctx, signed(ctx), lookup(args.dest), args.value, true);
        },
      }),
      transferAll: call({
        index: 4,
        args: { dest: MultiAddress, keepAlive: t.bool },
        typeNames: { dest: 'AccountIdLookupOf<T>' },
        weight: weight(180_000_000, 3_593),
        docs: ['Transfer the entire transferable balance from the caller account.'],
        handler(ctx, args) {
          const from = signed(ctx);
          const free = Balances.free(ctx, from);
          const amount = args.keepAlive ? free - ed(ctx) : free;
          if (amount > 0n) Balances.transfer(ctx, from, lookup(args.dest), amount, args.keepAlive);
        },
      }),
      forceSetBalance: call({
        index: 8,
        args: { who: MultiAddress, newFree: value },
        typeNames: { who: 'AccountIdLookupOf<T>', newFree: 'T::Balance' },
        weight: weight(50_000_000, 3_593),
        docs: [
          'Set the regular balance of a given account.',
          '',
          'The dispatch origin for this call is `root`.',
        ],
        handler(ctx, args) {
          root(ctx);
          const who = lookup(args.who);
          const old = Balances.free(ctx, who);
          setFree(ctx, who, args.newFree);
          const now = Balances.free(ctx, who);
          balancesStorage.TotalIssuance.mutate(ctx, (x) => x - old + now);
          balancesEvents.emit(ctx, 'BalanceSet', { who, free: now });
        },
      }),
    },
    constants: {
      ExistentialDeposit: {
        type: Balance,
        value: config.existentialDeposit,
        docs: [' The minimum amount required to keep an account open. MUST BE GREATER THAN ZERO!'],
      },
      MaxLocks: {
        type: t.u32,
        value: 50,
        docs: [' The maximum number of locks that should exist on an account.'],
      },
      MaxReserves: {
        type: t.u32,
        value: 50,
        docs: [' The maximum number of named reserves that can exist on an account.'],
      },
      MaxFreezes: {
        type: t.u32,
        value: 8,
        docs: [' The maximum number of individual freeze locks that can exist on an account at any time.'],
      },
    },
    hooks: {
      genesis(env) {
        for (const [account, amount] of config.endowed) Balances.mint(env, account, amount);
      },
    },
  });
}
