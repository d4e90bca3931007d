import { type Infer, t } from '../scale/ty.js';

/**
 * The FRAME and sp_runtime types every runtime shares, with the exact Rust paths of a real
 * runtime (polkadot-js keys some behaviour on them: AccountId32, MultiAddress, Era, H256, Weight,
 * UncheckedExtrinsic, EventRecord).
 */

export const AccountId = t.newtype('sp_core::crypto::AccountId32', t.fixedBytes(32), '[u8; 32]');
export const H256 = t.newtype('primitive_types::H256', t.fixedBytes(32), '[u8; 32]');
export const BlockNumber = t.u32;
export const Balance = t.u128;
export const Nonce = t.u32;
export const Moment = t.u64;

export const MultiAddress = t.enum(
  'sp_runtime::multiaddress::MultiAddress',
  {
    Id: { fields: AccountId },
    Index: { fields: t.compact(t.unit as never) as never },
    Raw: { fields: t.bytes },
    Address32: { fields: t.fixedBytes(32) },
    Address20: { fields: t.fixedBytes(20) },
  },
  {
    params: [
      { name: 'AccountId', type: AccountId },
      { name: 'AccountIndex', type: t.unit },
    ],
  },
);
export type MultiAddressValue = Infer<typeof MultiAddress>;

export const MultiSignature = t.enum('sp_runtime::MultiSignature', {
  Ed25519: { fields: t.fixedBytes(64) },
  Sr25519: { fields: t.fixedBytes(64) },
  Ecdsa: { fields: t.fixedBytes(65) },
});

// Era is encoded specially (1 byte immortal, 2 bytes mortal); scale-info describes it as an enum
// of 256 variants whose payload is the second byte, which is also how this node reads it.
const eraVariants: Record<string, { index: number; fields?: typeof t.u8 }> = { Immortal: { index: 0 } };
for (let i = 1; i < 256; i++) eraVariants[`Mortal${i}`] = { index: i, fields: t.u8 };
export const Era = t.enum('sp_runtime::generic::era::Era', eraVariants);

export const Weight = t.struct('sp_weights::weight_v2::Weight', {
  refTime: t.compact(t.u64),
  proofSize: t.compact(t.u64),
});
export type WeightValue = Infer<typeof Weight>;

export const DispatchClass = t.enum('frame_support::dispatch::DispatchClass', {
  Normal: {},
  Operational: {},
  Mandatory: {},
});
export const Pays = t.enum('frame_support::dispatch::Pays', { Yes: {}, No: {} });
export const DispatchInfo = t.struct('frame_support::dispatch::DispatchInfo', {
  weight: Weight,
  class: DispatchClass,
  paysFee: Pays,
});
export type DispatchInfoValue = Infer<typeof DispatchInfo>;

export const ModuleError = t.struct('sp_runtime::ModuleError', {
  index: t.u8,
  error: t.fixedBytes(4),
});
export const TokenError = t.enum('sp_runtime::TokenError', {
  FundsUnavailable: {},
  OnlyProvider: {},
  BelowMinimum: {},
  CannotCreate: {},
  UnknownAsset: {},
  Frozen: {},
  Unsupported: {},
  CannotCreateHold: {},
  NotExpendable: {},
  Blocked: {},
});
export const ArithmeticError = t.enum('sp_arithmetic::ArithmeticError', {
  Underflow: {},
  Overflow: {},
  DivisionByZero: {},
});
export const TransactionalError = t.enum('sp_runtime::TransactionalError', { LimitReached: {}, NoLayer: {} });
export const DispatchError = t.enum('sp_runtime::DispatchError', {
  Other: {},
  CannotLookup: {},
  BadOrigin: {},
  Module: { fields: ModuleError },
  ConsumerRemaining: {},
  NoProviders: {},
  TooManyConsumers: {},
  Token: { fields: TokenError },
  Arithmetic: { fields: ArithmeticError },
  Transactional: { fields: TransactionalError },
  Exhausted: {},
  Corruption: {},
  Unavailable: {},
  RootNotAllowed: {},
});
export type DispatchErrorValue = Infer<typeof DispatchError>;
export type TokenErrorName = Infer<typeof TokenError>['tag'];

export const DispatchResult = t.result(t.unit, DispatchError);

export const Phase = t.enum('frame_system::Phase', {
  ApplyExtrinsic: { fields: t.u32 },
  Finalization: {},
  Initialization: {},
});
export type PhaseValue = Infer<typeof Phase>;

export const ConsensusEngineId = t.fixedBytes(4);
export const DigestItem = t.enum('sp_runtime::generic::digest::DigestItem', {
  Other: { index: 0, fields: t.bytes },
  Consensus: { index: 4, fields: [ConsensusEngineId, t.bytes] },
  Seal: { index: 5, fields: [ConsensusEngineId, t.bytes] },
  PreRuntime: { index: 6, fields: [ConsensusEngineId, t.bytes] },
  RuntimeEnvironmentUpdated: { index: 8 },
});
export type DigestItemValue = Infer<typeof DigestItem>;
export const Digest = t.struct('sp_runtime::generic::digest::Digest', { logs: t.vec(DigestItem) });

export const Header = t.struct(
  'sp_runtime::generic::header::Header',
  {
    parentHash: H256,
    number: t.compact(BlockNumber),
    stateRoot: H256,
    extrinsicsRoot: H256,
    digest: Digest,
  },
  {
    params: [
      { name: 'Number', type: BlockNumber },
      { name: 'Hash', type: undefined },
    ],
  },
);
export type HeaderValue = Infer<typeof Header>;

export const AccountData = t.struct(
  'pallet_balances::types::AccountData',
  {
    free: Balance,
    reserved: Balance,
    frozen: Balance,
    flags: t.newtype('pallet_balances::types::ExtraFlags', t.u128, 'u128'),
  },
  { params: [{ name: 'Balance', type: Balance }] },
);
export const AccountInfo = t.struct(
  'frame_system::AccountInfo',
  {
    nonce: Nonce,
    consumers: t.u32,
    providers: t.u32,
    sufficients: t.u32,
    data: AccountData,
  },
  {
    params: [
      { name: 'Nonce', type: Nonce },
      { name: 'AccountData', type: AccountData },
    ],
  },
);
export type AccountInfoValue = Infer<typeof AccountInfo>;

export const RuntimeVersionTy = t.struct('sp_version::RuntimeVersion', {
  specName: t.str,
  implName: t.str,
  authoringVersion: t.u32,
  specVersion: t.u32,
  implVersion: t.u32,
  apis: t.vec(t.tuple(t.fixedBytes(8), t.u32)),
  transactionVersion: t.u32,
  stateVersion: t.u8,
});

/** The signed extensions of a modern FRAME runtime, in order; their extra/additional types. */
export const SignedExtensions = {
  CheckNonZeroSender: {
    type: t.marker('frame_system::extensions::check_non_zero_sender::CheckNonZeroSender', {
      params: [{ name: 'T' }],
    }),
    additionalSigned: t.unit,
  },
  CheckSpecVersion: {
    type: t.marker('frame_system::extensions::check_spec_version::CheckSpecVersion', {
      params: [{ name: 'T' }],
    }),
    additionalSigned: t.u32,
  },
  CheckTxVersion: {
    type: t.marker('frame_system::extensions::check_tx_version::CheckTxVersion', { params: [{ name: 'T' }] }),
    additionalSigned: t.u32,
  },
  CheckGenesis: {
    type: t.marker('frame_system::extensions::check_genesis::CheckGenesis', { params: [{ name: 'T' }] }),
    additionalSigned: H256,
  },
  CheckMortality: {
    type: t.newtype('frame_system::extensions::check_mortality::CheckMortality', Era, 'Era', {
      params: [{ name: 'T' }],
    }),
    additionalSigned: H256,
  },
  CheckNonce: {
    type: t.newtype('frame_system::extensions::check_nonce::CheckNonce', t.compact(Nonce), 'T::Nonce', {
      params: [{ name: 'T' }],
    }),
    additionalSigned: t.unit,
  },
  CheckWeight: {
    type: t.marker('frame_system::extensions::check_weight::CheckWeight', { params: [{ name: 'T' }] }),
    additionalSigned: t.unit,
  },
  ChargeTransactionPayment: {
    type: t.newtype(
      'pallet_transaction_payment::ChargeTransactionPayment',
      t.compact(Balance),
      'BalanceOf<T>',
      { params: [{ name: 'T' }] },
    ),
    additionalSigned: t.unit,
  },
} as const;
