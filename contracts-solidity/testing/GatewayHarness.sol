// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {PhalaBridgeGateway} from "../PhalaBridgeGateway.sol";

/// @notice Test-only: exposes the gateway's hashing so tests can compare it with the TypeScript
/// helpers byte for byte.
contract GatewayHarness is PhalaBridgeGateway {
    constructor(address[] memory initialGatekeepers, uint16 initialThreshold)
        PhalaBridgeGateway(initialGatekeepers, initialThreshold)
    {}

    function batchRoot(FulfillmentItem[] calldata items) external pure returns (bytes32) {
        return _batchRoot(items);
    }

    /// @dev OpenZeppelin's proof check, to show src/crypto/merkle.ts proofs verify with it.
    function verifyProof(bytes32[] calldata proof, bytes32 root, bytes32 leafHash) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leafHash);
    }

    function leaf(
        uint256 index,
        bytes32 requestId,
        bytes32 publicOutputHash,
        bytes32 sealedOutputHash,
        bytes32 stateRoot
    ) external pure returns (bytes32) {
        return _leaf(index, requestId, publicOutputHash, sealedOutputHash, stateRoot);
    }

    function commitment(bytes32 contractId, address requester, uint32 callbackGasLimit, uint64 deadline)
        external
        pure
        returns (bytes32)
    {
        return _commitment(contractId, requester, callbackGasLimit, deadline);
    }

    function fulfillmentDigest(bytes32 requestId, bytes32 publicOutputHash, bytes32 sealedOutputHash, bytes32 stateRoot)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(FULFILLMENT_TYPEHASH, requestId, publicOutputHash, sealedOutputHash, stateRoot))
        );
    }

    function fulfillmentBatchDigest(bytes32 root, uint32 count) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(FULFILLMENT_BATCH_TYPEHASH, root, count)));
    }

    function workerRegistrationDigest(WorkerRegistration calldata r) external view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(WORKER_REGISTRATION_TYPEHASH, r.worker, r.measurement, r.cluster, r.expiresAt, r.epoch))
        );
    }

    function contractRegistrationDigest(ContractRegistration calldata r) external view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(CONTRACT_REGISTRATION_TYPEHASH, r.contractId, r.cluster, r.publicKey, r.epoch))
        );
    }

    function workerRevocationDigest(address worker, uint64 revokeUpTo, uint64 epoch) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(WORKER_REVOCATION_TYPEHASH, worker, revokeUpTo, epoch)));
    }

    function gatekeeperSetUpdateDigest(address[] calldata members, uint16 threshold, uint64 epoch)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(GATEKEEPER_SET_UPDATE_TYPEHASH, keccak256(abi.encodePacked(members)), threshold, epoch)
            )
        );
    }
}
