import { encodeFunctionData, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import { computeRequestIdFromInput, evmRequestNonce } from '../../src/evm/request-id.js';
import { gatewayLogs } from '../../src/evm/submitter/submit-fulfillment.js';
import { type GatewayFixture, gatewayErrorOf, gatewayFixture, rand32, randBytes } from './fixture.js';

// Issue 13, item 3: the gateway records who a request is for, in the event and the request id.
describe('end user of a request', () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await gatewayFixture();
  }, 60_000);
  afterAll(() => f?.stop());

  it('is the caller itself for request(), and in the id with the response key', async () => {
    const caller = f.clients.walletClient.account.address;
    const sealedInput = randBytes(64);
    const responseKey = rand32();
    const deadline = (await f.now()) + 600n;
    const receipt = await f.send(
      f.dev.gateway,
      encodeRequest({ contractId: f.contractId, sealedInput, responseKey, callbackGasLimit: 0, deadline }),
    );
    const [sent] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: gatewayLogs(receipt, f.dev.gateway),
      eventName: 'RequestSent',
    });
    expect(sent!.args.endUser).toBe(caller);
    const nonce = evmRequestNonce(receipt.blockNumber);
    const id = (p: { endUser: `0x${string}`; responseKey: `0x${string}` }) =>
      computeRequestIdFromInput({
        chainId: f.dev.node.chainId,
        gateway: f.dev.gateway,
        nonce,
        requester: caller,
        contractId: f.contractId,
        sealedInput,
        ...p,
      });
    expect(sent!.args.requestId).toBe(id({ endUser: caller, responseKey }));
    expect(id({ endUser: f.consumer, responseKey })).not.toBe(sent!.args.requestId);
    expect(id({ endUser: caller, responseKey: rand32() })).not.toBe(sent!.args.requestId);
  });

  it('is what requestFor names, and never the zero address', async () => {
    const deadline = (await f.now()) + 600n;
    const args = (endUser: `0x${string}`) =>
      encodeFunctionData({
        abi: phalaBridgeGatewayAbi,
        functionName: 'requestFor',
        args: [endUser, f.contractId, randBytes(32), rand32(), 0, deadline],
      });
    const alice = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const;
    const receipt = await f.send(f.dev.gateway, args(alice));
    const [sent] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: gatewayLogs(receipt, f.dev.gateway),
      eventName: 'RequestSent',
    });
    expect(sent!.args.endUser).toBe(alice);
    expect(sent!.args.requester).toBe(f.clients.walletClient.account.address);
    const call = f.clients.publicClient.call({
      account: f.clients.walletClient.account,
      to: f.dev.gateway,
      data: args('0x0000000000000000000000000000000000000000'),
    });
    expect(await gatewayErrorOf(call)).toBe('InvalidEndUser');
  });
});
