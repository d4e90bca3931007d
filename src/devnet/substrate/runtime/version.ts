import { blake2AsU8a } from '@polkadot/util-crypto';

export type RuntimeVersionSpec = {
  specName: string;
  implName: string;
  authoringVersion: number;
  specVersion: number;
  implVersion: number;
  transactionVersion: number;
  /** 1 for LayoutV1 tries (values ≥ 33 bytes hashed), as current runtimes use. */
  stateVersion: 0 | 1;
};

/** The runtime version with its runtime APIs as `[blake2_64(name) hex, version]`. */
export type RuntimeVersion = RuntimeVersionSpec & { apis: [string, number][] };

/** A runtime API's id in `RuntimeVersion.apis`: blake2-64 of its name. */
export function apiId(name: string): string {
  return `0x${Buffer.from(blake2AsU8a(name, 64)).toString('hex')}`;
}

/** The value of `sp_version::RuntimeVersion` as the `Ty` of types.ts describes it. */
export function runtimeVersionValue(v: RuntimeVersion) {
  return {
    specName: v.specName,
    implName: v.implName,
    authoringVersion: v.authoringVersion,
    specVersion: v.specVersion,
    implVersion: v.implVersion,
    apis: v.apis.map(([id, version]) => [new Uint8Array(Buffer.from(id.slice(2), 'hex')), version]),
    transactionVersion: v.transactionVersion,
    stateVersion: v.stateVersion,
  };
}

/** The JSON `state_getRuntimeVersion` returns. */
export function runtimeVersionJson(v: RuntimeVersion) {
  return {
    specName: v.specName,
    implName: v.implName,
    authoringVersion: v.authoringVersion,
    specVersion: v.specVersion,
    implVersion: v.implVersion,
    apis: v.apis,
    transactionVersion: v.transactionVersion,
    stateVersion: v.stateVersion,
  };
}
