import { toHex } from '../../src/base/bytes.js';
import { ethereumAddress, generateKeyPair } from '../../src/crypto/keys.js';
import type { Devnet } from '../../src/devnet/orchestrator/devnet.js';
import * as contracts from '../../src/phala/actions/contracts.js';
import { requestJobId } from '../../src/protocol/origin.js';
import type { ResultJob } from '../../src/protocol/result-job.js';

/**
 * What an attacker with write access to Redis can make for a real Phala-style request: a
 * well-formed result whose proof verifies, signed by a fresh key no gatekeeper approved.
 */
export function forgedPhalaResult(devnet: Devnet, requestId: `0x${string}`): ResultJob {
  const origin = { kind: 'phala' as const, genesisHash: devnet.chains.phala.genesisHash };
  const rogue = generateKeyPair('secp256k1');
  const publicOutput = toHex(new TextEncoder().encode('forged'));
  const stateRoot = `0x${'00'.repeat(32)}` as const;
  return {
    v: 1,
    jobId: requestJobId(origin, requestId),
    origin,
    requestId,
    contractId: devnet.contracts.greeter.contractId,
    cluster: devnet.cluster,
    worker: { address: ethereumAddress(rogue.publicKey), publicKey: toHex(rogue.publicKey) },
    status: 'ok',
    publicOutput,
    sealedOutput: '0x',
    stateRoot,
    proof: {
      kind: 'substrate',
      signature: contracts.signFulfillment(devnet.phala, {
        workerSecretKey: rogue.secretKey,
        requestId,
        publicOutput,
        sealedOutput: '0x',
        stateRoot,
      }),
    },
    gasUsed: 1,
    producedAt: Date.now(),
  };
}
