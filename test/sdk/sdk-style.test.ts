import { JsonRpcProvider, Wallet } from 'ethers';
import type { Client, PublicClient } from 'viem';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { PhalaClient } from '../../src/phala/client.js';
import {
  type DeployContractErrorType,
  type DeployContractParameters,
  type EvmSender,
  EvmRequestError,
  type GetContractTargetParameters,
  type QueryContractParameters,
  type RequestFromEvmErrorType,
  type RequestFromEvmParameters,
  type RequestFromEvmReturnType,
  type RequestFromPhalaParameters,
  type RequestFromSiblingParameters,
  RequestRefusedError,
  type SealInputForEvmParameters,
  type WaitForEvmResultErrorType,
  type WaitForEvmResultParameters,
  type WaitForPhalaResultParameters,
  type WaitForSiblingResultParameters,
  deployContract,
  getContractTarget,
  queryContract,
  requestFromEvm,
  requestFromPhala,
  requestFromSibling,
  sealInputForEvm,
  waitForEvmResult,
  waitForPhalaResult,
  waitForSiblingResult,
} from '../../src/sdk/index.js';

/** One SDK style (issue 16): every action is `(client, parameters)` with its types, as viem's. */
describe('SDK style', () => {
  it('takes the client first and one parameters object in every action', () => {
    // Overloaded actions (a deprecated 0.1 shape beside the new one): the new shape must fit.
    const shapes: {
      requestFromEvm: (client: EvmSender, p: RequestFromEvmParameters) => Promise<RequestFromEvmReturnType>;
      waitForEvmResult: (client: Client, p: WaitForEvmResultParameters) => Promise<unknown>;
      sealInputForEvm: (client: Client, p: SealInputForEvmParameters) => Promise<unknown>;
      requestFromSibling: (client: PhalaClient, p: RequestFromSiblingParameters) => Promise<unknown>;
      queryContract: (client: PhalaClient, p: QueryContractParameters) => Promise<unknown>;
      getContractTarget: (client: PhalaClient, p: GetContractTargetParameters) => Promise<unknown>;
    } = {
      requestFromEvm,
      waitForEvmResult,
      sealInputForEvm,
      requestFromSibling,
      queryContract,
      getContractTarget,
    };
    expect(Object.values(shapes).every((f) => typeof f === 'function')).toBe(true);
    expectTypeOf(requestFromPhala).parameters.toEqualTypeOf<[PhalaClient, RequestFromPhalaParameters]>();
    expectTypeOf(waitForPhalaResult).parameters.toEqualTypeOf<[PhalaClient, WaitForPhalaResultParameters]>();
    expectTypeOf(waitForSiblingResult).parameters.toEqualTypeOf<
      [PhalaClient, WaitForSiblingResultParameters]
    >();
    expectTypeOf(deployContract).parameters.toEqualTypeOf<[PhalaClient, DeployContractParameters]>();
    expectTypeOf<EvmRequestError>().toExtend<RequestFromEvmErrorType>();
    expectTypeOf<RequestRefusedError>().toExtend<WaitForEvmResultErrorType>();
    expectTypeOf<Error>().toExtend<DeployContractErrorType>();
    expectTypeOf<RequestFromEvmReturnType['publicClient']>().toEqualTypeOf<PublicClient>();
  });

  it('keeps the 0.1 call shape of requestFromEvm working, and both ask for a reader with ethers', async () => {
    const signer = new Wallet(
      `0x${'01'.repeat(32)}`,
      new JsonRpcProvider('http://127.0.0.1:9', undefined, {
        staticNetwork: true,
      }),
    );
    const parameters = {
      gateway: `0x${'00'.repeat(20)}`,
      contractId: `0x${'00'.repeat(32)}`,
      input: 'x',
    } as const;
    await expect(requestFromEvm(signer, parameters)).rejects.toBeInstanceOf(EvmRequestError);
    // The deprecated overload, called as 0.1 callers do.
    await expect(requestFromEvm({ sender: signer, ...parameters })).rejects.toBeInstanceOf(EvmRequestError);
    signer.provider?.destroy();
  });

  it('says what a refusal is: the reason code, final', () => {
    const error = new RequestRefusedError(`0x${'aa'.repeat(32)}`, {
      reason: 'input-unreadable',
      detail: 'no key of the contract opens the sealed input',
      security: false,
    });
    expect(error.retry).toBe('never');
    expect(error.shortMessage).toBe(`Request 0x${'aa'.repeat(32)} was refused: input-unreadable.`);
    expect(error.docsPath).toBe('/docs/evm.md#when-a-request-is-refused');
  });
});
