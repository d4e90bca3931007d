// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title IConfidentialConsumer
/// @notice The callback a PhalaBridgeGateway calls on the requester when a result arrives.
interface IConfidentialConsumer {
    /// @param requestId The id `request` returned.
    /// @param publicOutput The contract's public output, in plain bytes (its format is the
    /// confidential contract's own; the examples use ABI encoding).
    /// @param sealedOutput An envelope sealed to the request's `responseKey`; only the holder of the
    /// matching X25519 secret can open it. Empty when the contract returned none.
    function onConfidentialResult(bytes32 requestId, bytes calldata publicOutput, bytes calldata sealedOutput)
        external;
}
