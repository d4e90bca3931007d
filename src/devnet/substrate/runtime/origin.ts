/**
 * The origin a call is dispatched with (FRAME's RuntimeOrigin). `xcm` is an XCM `Location` as the
 * XCM layer represents it (pallet_xcm's `Origin::Xcm`); `other` lets a composed chain add origins
 * of its own without changing this type.
 */
export type DispatchOrigin =
  | { kind: 'root' }
  | { kind: 'signed'; account: Uint8Array }
  | { kind: 'none' }
  | { kind: 'xcm'; location: unknown }
  | { kind: 'other'; name: string; value: unknown };

export const Origin = {
  root: (): DispatchOrigin => ({ kind: 'root' }),
  none: (): DispatchOrigin => ({ kind: 'none' }),
  signed: (account: Uint8Array): DispatchOrigin => ({ kind: 'signed', account }),
  xcm: (location: unknown): DispatchOrigin => ({ kind: 'xcm', location }),
};
