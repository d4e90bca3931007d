// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {IConfidentialConsumer} from "./interfaces/IConfidentialConsumer.sol";
import {IPhalaBridgeGateway} from "./interfaces/IPhalaBridgeGateway.sol";

/// @title PhalaBridgeGateway
/// @notice Sends requests from EVM programs to confidential contracts run by attested TEE workers,
/// and accepts their results when a registered worker of the contract's cluster signed them.
/// @dev Governed only by gatekeeper threshold signatures (EIP-712, domain
/// `{name: "PhalaBridgeGateway", version: "1", chainId, verifyingContract}`); there is no owner.
/// Per request only a commitment hash is stored (Chainlink Functions style); everything else
/// travels in the `RequestSent` event and comes back in the fulfillment's calldata.
contract PhalaBridgeGateway is IPhalaBridgeGateway, EIP712 {
    /// @notice Largest callback gas a request may ask for.
    uint32 public constant MAX_CALLBACK_GAS = 2_500_000;
    /// @notice Largest sealed input a request may carry.
    uint256 public constant MAX_SEALED_INPUT = 32 * 1024;
    /// @notice At most this many bytes of a failed callback's return data reach the event.
    uint256 public constant MAX_RETURN_DATA = 256;
    /// @notice Upper bound of the gas spent between the gas check and the callback's CALL
    /// (including the CALL's own account-access cost), as in Chainlink's callWithExactGas.
    uint256 internal constant GAS_FOR_CALL_EXACT_CHECK = 5_000;
    uint256 internal constant MAX_GATEKEEPERS = 64;

    /// @dev A contract's record. The first slot is all `request` touches (one SLOAD, no write).
    struct ContractRecord {
        uint64 epoch; // slot 0, bits 0..63
        bool registered; // slot 0, bits 64..71
        bytes32 cluster; // slot 1
        bytes32 publicKey; // slot 2
    }

    uint256 private constant REGISTERED_BIT = 1 << 64;

    bytes32 internal constant FULFILLMENT_TYPEHASH = keccak256(
        "Fulfillment(bytes32 requestId,bytes32 publicOutputHash,bytes32 sealedOutputHash,bytes32 stateRoot)"
    );
    bytes32 internal constant FULFILLMENT_BATCH_TYPEHASH = keccak256("FulfillmentBatch(bytes32 root,uint32 count)");
    bytes32 internal constant WORKER_REGISTRATION_TYPEHASH = keccak256(
        "WorkerRegistration(address worker,bytes32 measurement,bytes32 cluster,uint64 expiresAt,uint64 epoch)"
    );
    bytes32 internal constant CONTRACT_REGISTRATION_TYPEHASH =
        keccak256("ContractRegistration(bytes32 contractId,bytes32 cluster,bytes32 publicKey,uint64 epoch)");
    bytes32 internal constant WORKER_REVOCATION_TYPEHASH =
        keccak256("WorkerRevocation(address worker,uint64 revokeUpTo,uint64 epoch)");
    bytes32 internal constant GATEKEEPER_SET_UPDATE_TYPEHASH =
        keccak256("GatekeeperSetUpdate(address[] gatekeepers,uint16 threshold,uint64 epoch)");

    /// requestId => keccak256(abi.encode(contractId, requester, callbackGasLimit, deadline)); zero when
    /// the request is unknown, answered or cancelled.
    mapping(bytes32 => bytes32) internal _commitments;
    mapping(bytes32 => ContractRecord) internal _contracts;
    mapping(address => WorkerInfo) internal _workers;
    /// worker => cluster => expiresAt: the one slot `fulfill` reads to authorize a signer.
    mapping(address => mapping(bytes32 => uint64)) internal _authorizedUntil;
    address[] internal _gatekeeperList;
    mapping(address => bool) internal _isGatekeeper;
    uint16 internal _threshold;
    uint64 internal _epoch;
    /// How many requests this transaction has made so far (transient: zero in every transaction).
    uint256 internal transient _requestsInTransaction;

    /// @param initialGatekeepers The first gatekeeper set, in ascending address order.
    /// @param initialThreshold How many of them must sign (1..n).
    constructor(address[] memory initialGatekeepers, uint16 initialThreshold) EIP712("PhalaBridgeGateway", "1") {
        _setGatekeepers(initialGatekeepers, initialThreshold);
        emit GatekeepersUpdated(0, initialGatekeepers, initialThreshold);
    }

    // ---------------------------------------------------------------- requests

    /// @notice Sends a request to confidential contract `contractId`; the caller is its own end user.
    /// @param sealedInput The input, sealed (envelope v1) to the contract's public key, for this
    /// requester and end user (both are in the envelope's context).
    /// @param responseKey The X25519 public key the sealed output is sealed to.
    /// @param callbackGasLimit The exact gas `onConfidentialResult` gets on the requester.
    /// @param deadline Unix time after which the request can no longer be fulfilled, only cancelled.
    /// @return requestId `keccak256(abi.encode(chainId, gateway, nonce, requester, endUser,
    /// contractId, responseKey, keccak256(sealedInput)))`, here with `endUser = requester`, where
    /// `nonce = block.number + 2^40 * i` for the transaction's i-th request (from 0). No counter is
    /// kept: an id is unique because an identical request in the same block is refused while the
    /// first is pending (`DuplicateRequest`), and no request can be answered or cancelled in the
    /// block it was made in (a worker answers only a request it proved mined; the deadline is later
    /// than the block's time).
    function request(
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external returns (bytes32 requestId) {
        return _request(msg.sender, contractId, sealedInput, responseKey, callbackGasLimit, deadline);
    }

    /// @notice Sends a request on behalf of `endUser`, the account a consumer contract acts for
    /// (`ConfidentialConsumer` passes its own `msg.sender`). The end user is bound into the request
    /// id and the input envelope's context, so an input sealed for one account cannot be replayed
    /// through the same consumer by another: the worker would not open it.
    /// @dev Only the caller (the requester) vouches for `endUser`; a requester can only name end
    /// users of inputs sealed to itself as requester, so it can forge nothing for other consumers.
    function requestFor(
        address endUser,
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external returns (bytes32 requestId) {
        if (endUser == address(0)) revert InvalidEndUser();
        return _request(endUser, contractId, sealedInput, responseKey, callbackGasLimit, deadline);
    }

    function _request(
        address endUser,
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) private returns (bytes32 requestId) {
        if (deadline <= block.timestamp) revert InvalidDeadline(deadline);
        if (callbackGasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(callbackGasLimit, MAX_CALLBACK_GAS);
        if (sealedInput.length > MAX_SEALED_INPUT) revert InputTooLarge(sealedInput.length, MAX_SEALED_INPUT);
        ContractRecord storage c = _contracts[contractId];
        uint256 state;
        assembly ("memory-safe") {
            state := sload(c.slot)
        }
        if (state & REGISTERED_BIT == 0) revert ContractNotRegistered(contractId);
        uint256 index = _requestsInTransaction;
        _requestsInTransaction = index + 1;
        bytes32 topic = RequestSent.selector;
        bytes4 duplicate = DuplicateRequest.selector;
        // The request is the hot path (the gas target is 60k with a 256-byte input): it is written
        // in assembly so that the input is copied once, into the event data, and hashed there.
        assembly ("memory-safe") {
            // Block numbers stay below 2^40 and a transaction makes far fewer than 2^24 requests.
            let nonce := or(number(), shl(40, index))
            // Event data, ABI-encoded in place: endUser, nonce, offset, responseKey, gas, deadline, input.
            let m := mload(0x40)
            mstore(m, endUser)
            mstore(add(m, 0x20), nonce)
            mstore(add(m, 0x40), 0xc0)
            mstore(add(m, 0x60), responseKey)
            mstore(add(m, 0x80), callbackGasLimit)
            mstore(add(m, 0xa0), deadline)
            mstore(add(m, 0xc0), sealedInput.length)
            let input := add(m, 0xe0)
            calldatacopy(input, sealedInput.offset, sealedInput.length)
            let inputHash := keccak256(input, sealedInput.length)
            mstore(add(input, sealedInput.length), 0) // zero padding
            let dataLength := add(0xe0, and(add(sealedInput.length, 31), not(31)))
            // Request id and commitment, hashed in the memory after the event data.
            let h := add(m, dataLength)
            mstore(h, chainid())
            mstore(add(h, 0x20), address())
            mstore(add(h, 0x40), nonce)
            mstore(add(h, 0x60), caller())
            mstore(add(h, 0x80), endUser)
            mstore(add(h, 0xa0), contractId)
            mstore(add(h, 0xc0), responseKey)
            mstore(add(h, 0xe0), inputHash)
            requestId := keccak256(h, 0x100)
            mstore(h, contractId)
            mstore(add(h, 0x20), caller())
            mstore(add(h, 0x40), callbackGasLimit)
            mstore(add(h, 0x60), deadline)
            let commitment := keccak256(h, 0x80)
            mstore(0x00, requestId)
            mstore(0x20, _commitments.slot)
            let slot := keccak256(0x00, 0x40)
            // Reading the fresh slot first costs nothing more: the write then finds it warm.
            if sload(slot) {
                mstore(0x00, duplicate)
                mstore(0x04, requestId)
                revert(0x00, 0x24)
            }
            sstore(slot, commitment)
            log4(m, dataLength, topic, requestId, contractId, caller())
        }
    }

    /// @notice Withdraws a request that was not answered by its deadline. Only its requester may.
    function cancel(RequestRef calldata ref) external {
        if (ref.requester != msg.sender) revert NotRequester(msg.sender);
        _checkCommitment(ref);
        if (block.timestamp <= ref.deadline) revert DeadlineNotPassed(ref.requestId, ref.deadline);
        delete _commitments[ref.requestId];
        emit RequestCancelled(ref.requestId, msg.sender);
    }

    // ---------------------------------------------------------------- fulfillment

    /// @notice Delivers one result signed by a worker (EIP-712 `Fulfillment`).
    /// @dev Reverts when the result cannot be accepted; never reverts because of the callback.
    /// Needs at least `callbackGasLimit * 64 / 63 + 5000` gas left at the call, or it reverts
    /// with `InsufficientGasForCallback` so that no relayer can starve a callback.
    function fulfill(
        RequestRef calldata ref,
        bytes calldata publicOutput,
        bytes calldata sealedOutput,
        bytes32 stateRoot,
        bytes calldata signature
    ) external returns (FulfillResult result) {
        bytes32 requestId = ref.requestId;
        _checkCommitment(ref);
        if (block.timestamp > ref.deadline) revert RequestExpired(requestId);
        address worker =
            _recover(_fulfillmentDigest(requestId, publicOutput, sealedOutput, stateRoot), signature);
        bytes32 cluster = _contracts[ref.contractId].cluster;
        if (!_authorized(worker, cluster)) revert WorkerNotAuthorized(worker, cluster);
        delete _commitments[requestId];
        result = _deliver(requestId, ref.requester, ref.callbackGasLimit, publicOutput, sealedOutput);
        emit RequestFulfilled(requestId, worker, result);
    }

    /// @notice Delivers many results with one worker signature over EIP-712
    /// `FulfillmentBatch(root, count)`, where `root` is the sorted-pair keccak Merkle root (an odd
    /// node moves up unchanged) of the items' leaves in order, and item `i`'s leaf is
    /// `keccak256(abi.encode(i, keccak256(abi.encode(requestId, publicOutputHash, sealedOutputHash,
    /// stateRoot))))`. The index in the leaf makes the order the worker's: item `i` must carry
    /// `index == i`, else the whole batch reverts with `MalformedBatch(i)` before any callback; a
    /// relayer that reorders signed items changes the leaves, so the signature no longer matches.
    /// The gateway rebuilds the root from the items, so no per-item proofs are needed. Callbacks
    /// run in item order. An item that cannot be applied is skipped with its own result code and a
    /// `FulfillmentSkipped` event; the others land.
    /// @dev Reverts only for a malformed batch or signature, or too little gas for a callback.
    function fulfillBatch(FulfillmentItem[] calldata items, bytes calldata signature)
        external
        returns (FulfillResult[] memory results)
    {
        address worker = _recover(_batchDigest(items), signature);
        uint256 count = items.length;
        results = new FulfillResult[](count);
        for (uint256 i; i < count; ++i) {
            (RequestRef calldata ref, bytes calldata pub, bytes calldata sealedOut,) = _item(items, i);
            results[i] = _fulfillItem(ref, pub, sealedOut, worker);
        }
    }

    /// @notice Several workers' signed batches in one transaction, so that one transaction carries
    /// the results of many workers. Each batch is checked on its own exactly as `fulfillBatch`
    /// checks one (EIP-712 `FulfillmentBatch` over its items in order; its signer must be authorized
    /// for each item's contract cluster), and each item gets the code `fulfillBatch` would give it,
    /// with the same `RequestFulfilled` / `FulfillmentSkipped` events. A batch whose signature does
    /// not recover, or whose signer is not authorized, skips only its own items
    /// (`WorkerNotAuthorized`; the event names the zero address as worker when no signer could be
    /// recovered): the other batches land. Batches run in order, so a request carried by two
    /// batches is delivered once and the later copy is skipped as `NotPending`.
    /// @dev Reverts only for an empty call or batch (`EmptyBatch`), an item out of its signed place
    /// or leaving the calldata (`MalformedBatch(i)`, `i` within its batch), or too little gas for a
    /// callback: faults of the sender, not of a worker.
    function fulfillBatches(WorkerBatch[] calldata batches) external returns (FulfillResult[][] memory results) {
        uint256 n = batches.length;
        if (n == 0) revert EmptyBatch();
        results = new FulfillResult[][](n);
        for (uint256 b; b < n; ++b) {
            FulfillmentItem[] calldata items = batches[b].items;
            address worker = _tryRecover(_batchDigest(items), batches[b].signature);
            uint256 count = items.length;
            FulfillResult[] memory out = new FulfillResult[](count);
            for (uint256 i; i < count; ++i) {
                (RequestRef calldata ref, bytes calldata pub, bytes calldata sealedOut,) = _item(items, i);
                out[i] = _fulfillItem(ref, pub, sealedOut, worker);
            }
            results[b] = out;
        }
    }

    /// @dev The EIP-712 `FulfillmentBatch(root, count)` digest of a batch. The Merkle layer is
    /// scratch: the free memory pointer is put back, so many batches do not grow memory.
    function _batchDigest(FulfillmentItem[] calldata items) private view returns (bytes32) {
        uint256 count = items.length;
        if (count == 0 || count > type(uint32).max) revert EmptyBatch();
        uint256 free;
        assembly ("memory-safe") {
            free := mload(0x40)
        }
        bytes32 root = _batchRoot(items);
        assembly ("memory-safe") {
            mstore(0x40, free)
        }
        return _hashTypedDataV4(keccak256(abi.encode(FULFILLMENT_BATCH_TYPEHASH, root, uint32(count))));
    }

    function _fulfillItem(RequestRef calldata ref, bytes calldata pub, bytes calldata sealedOut, address worker)
        private
        returns (FulfillResult result)
    {
        bytes32 requestId = ref.requestId;
        bytes32 stored = _commitments[requestId];
        if (stored == 0) {
            result = FulfillResult.NotPending;
        } else if (stored != _commitment(ref.contractId, ref.requester, ref.callbackGasLimit, ref.deadline)) {
            result = FulfillResult.CommitmentMismatch;
        } else if (block.timestamp > ref.deadline) {
            result = FulfillResult.Expired;
        } else if (!_authorized(worker, _contracts[ref.contractId].cluster)) {
            result = FulfillResult.WorkerNotAuthorized;
        } else {
            delete _commitments[requestId];
            result = _deliver(requestId, ref.requester, ref.callbackGasLimit, pub, sealedOut);
            emit RequestFulfilled(requestId, worker, result);
            return result;
        }
        emit FulfillmentSkipped(requestId, worker, result);
    }

    /// @dev Item `i` of a batch, read straight from calldata. The ABI decoder would check every
    /// offset on every access (about 5k gas per item); here each is checked once, and an offset
    /// or length that leaves the calldata reverts the batch with `MalformedBatch`.
    function _item(FulfillmentItem[] calldata items, uint256 i)
        internal
        pure
        returns (RequestRef calldata ref, bytes calldata pub, bytes calldata sealedOut, bytes32 stateRoot)
    {
        bool bad;
        assembly ("memory-safe") {
            let size := calldatasize()
            let head := calldataload(add(items.offset, shl(5, i)))
            let p := add(items.offset, head)
            // An item's head is 9 words: the RequestRef (5), two offsets, stateRoot, index.
            bad := or(gt(head, size), gt(add(p, 0x120), size))
            let pubRel := calldataload(add(p, 0xa0))
            let sealedRel := calldataload(add(p, 0xc0))
            bad := or(bad, or(gt(pubRel, size), gt(sealedRel, size)))
            let pubPtr := add(p, pubRel)
            let sealedPtr := add(p, sealedRel)
            pub.length := calldataload(pubPtr)
            pub.offset := add(pubPtr, 0x20)
            sealedOut.length := calldataload(sealedPtr)
            sealedOut.offset := add(sealedPtr, 0x20)
            bad := or(bad, or(gt(pub.length, size), gt(sealedOut.length, size)))
            bad := or(bad, or(gt(add(pub.offset, pub.length), size), gt(add(sealedOut.offset, sealedOut.length), size)))
            ref := p
            stateRoot := calldataload(add(p, 0xe0))
        }
        if (bad) revert MalformedBatch(i);
    }

    /// @dev Calls the requester with exactly `gasAmount` gas; a requester without code gets no
    /// call. A revert, an out-of-gas or a return bomb in the callback only changes the result.
    function _deliver(
        bytes32 requestId,
        address target,
        uint256 gasAmount,
        bytes calldata publicOutput,
        bytes calldata sealedOutput
    ) private returns (FulfillResult) {
        if (target.code.length == 0) return FulfillResult.Delivered;
        // EIP-150 forwards at most 63/64 of what is left: make sure that is still gasAmount.
        uint256 available = gasleft();
        if (available < GAS_FOR_CALL_EXACT_CHECK) revert InsufficientGasForCallback(available, uint32(gasAmount));
        available -= GAS_FOR_CALL_EXACT_CHECK;
        if (available - available / 64 <= gasAmount) revert InsufficientGasForCallback(available, uint32(gasAmount));
        (uint256 data, uint256 length) = _encodeCallback(requestId, publicOutput, sealedOutput);
        bool success;
        assembly ("memory-safe") {
            // No return data is copied: a callback cannot make the gateway pay for its output.
            success := call(gasAmount, target, 0, data, length, 0, 0)
        }
        if (success) return FulfillResult.Delivered;
        bytes memory returned;
        assembly ("memory-safe") {
            let size := returndatasize()
            if gt(size, MAX_RETURN_DATA) { size := MAX_RETURN_DATA }
            returned := mload(0x40)
            mstore(returned, size)
            returndatacopy(add(returned, 0x20), 0, size)
            mstore(0x40, add(add(returned, 0x20), and(add(size, 31), not(31))))
        }
        emit CallbackFailed(requestId, returned);
        return FulfillResult.CallbackFailed;
    }

    /// @dev `onConfidentialResult(requestId, publicOutput, sealedOutput)` calldata, encoded in scratch
    /// memory past the free memory pointer: nothing is allocated, so a batch does not grow memory.
    function _encodeCallback(bytes32 requestId, bytes calldata publicOutput, bytes calldata sealedOutput)
        private
        pure
        returns (uint256 m, uint256 length)
    {
        bytes4 selector = IConfidentialConsumer.onConfidentialResult.selector;
        assembly ("memory-safe") {
            m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), requestId)
            mstore(add(m, 0x24), 0x60)
            let pubPadded := and(add(publicOutput.length, 31), not(31))
            mstore(add(m, 0x44), add(0x80, pubPadded))
            mstore(add(m, 0x64), publicOutput.length)
            calldatacopy(add(m, 0x84), publicOutput.offset, publicOutput.length)
            mstore(add(add(m, 0x84), publicOutput.length), 0) // zero padding
            let s := add(add(m, 0x84), pubPadded)
            mstore(s, sealedOutput.length)
            calldatacopy(add(s, 0x20), sealedOutput.offset, sealedOutput.length)
            mstore(add(add(s, 0x20), sealedOutput.length), 0)
            length := sub(add(add(s, 0x20), and(add(sealedOutput.length, 31), not(31))), m)
        }
    }

    /// @dev The sorted-pair Merkle root of the items' leaves, built in place in memory. Item `i`
    /// must carry index `i` (checked here, before anything is delivered).
    function _batchRoot(FulfillmentItem[] calldata items) internal pure returns (bytes32) {
        uint256 n = items.length;
        bytes32[] memory layer = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            (RequestRef calldata ref, bytes calldata pub, bytes calldata sealedOut, bytes32 stateRoot) = _item(items, i);
            uint256 index;
            assembly ("memory-safe") {
                index := calldataload(add(ref, 0x100))
            }
            if (index != i) revert MalformedBatch(i);
            layer[i] = _leaf(i, ref.requestId, _hashCalldata(pub), _hashCalldata(sealedOut), stateRoot);
        }
        while (n > 1) {
            uint256 next;
            for (uint256 i; i < n; i += 2) {
                layer[next++] = i + 1 < n ? Hashes.commutativeKeccak256(layer[i], layer[i + 1]) : layer[i];
            }
            n = next;
        }
        return layer[0];
    }

    /// @dev The EIP-712 digest of `Fulfillment(requestId, keccak256(publicOutput),
    /// keccak256(sealedOutput), stateRoot)`.
    function _fulfillmentDigest(
        bytes32 requestId,
        bytes calldata publicOutput,
        bytes calldata sealedOutput,
        bytes32 stateRoot
    ) internal view returns (bytes32) {
        bytes32 structHash;
        bytes32 typeHash = FULFILLMENT_TYPEHASH;
        bytes32 publicHash = _hashCalldata(publicOutput);
        bytes32 sealedHash = _hashCalldata(sealedOutput);
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), requestId)
            mstore(add(m, 0x40), publicHash)
            mstore(add(m, 0x60), sealedHash)
            mstore(add(m, 0x80), stateRoot)
            structHash := keccak256(m, 0xa0)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @dev Item `index`'s leaf: `keccak256(abi.encode(index, itemHash))` with `itemHash =
    /// keccak256(abi.encode(requestId, publicOutputHash, sealedOutputHash, stateRoot))`. Two hashes,
    /// not one over all five words, so that a worker can name the results it signs by their item
    /// hash (the same as before the index) and place them itself.
    function _leaf(uint256 index, bytes32 requestId, bytes32 publicHash, bytes32 sealedHash, bytes32 stateRoot)
        internal
        pure
        returns (bytes32 leaf)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, requestId)
            mstore(add(m, 0x20), publicHash)
            mstore(add(m, 0x40), sealedHash)
            mstore(add(m, 0x60), stateRoot)
            mstore(0x20, keccak256(m, 0x80))
            mstore(0x00, index)
            leaf := keccak256(0x00, 0x40)
        }
    }

    /// @dev keccak256 of calldata bytes, hashed in scratch memory without allocating.
    function _hashCalldata(bytes calldata data) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            h := keccak256(m, data.length)
        }
    }

    function _checkCommitment(RequestRef calldata ref) private view {
        bytes32 stored = _commitments[ref.requestId];
        if (stored == 0) revert RequestNotPending(ref.requestId);
        if (stored != _commitment(ref.contractId, ref.requester, ref.callbackGasLimit, ref.deadline)) {
            revert CommitmentMismatch(ref.requestId);
        }
    }

    /// @dev keccak256(abi.encode(contractId, requester, callbackGasLimit, deadline)), in scratch memory.
    function _commitment(bytes32 contractId, address requester, uint32 callbackGasLimit, uint64 deadline)
        internal
        pure
        returns (bytes32 h)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, contractId)
            mstore(add(m, 0x20), requester)
            mstore(add(m, 0x40), callbackGasLimit)
            mstore(add(m, 0x60), deadline)
            h := keccak256(m, 0x80)
        }
    }

    function _authorized(address worker, bytes32 cluster) private view returns (bool) {
        return cluster != 0 && _authorizedUntil[worker][cluster] > block.timestamp;
    }

    /// @dev The signer, or the zero address (never authorized) when the signature does not recover.
    function _tryRecover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError) signer = address(0);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
    }

    // ---------------------------------------------------------------- registry (gatekeeper-signed)

    /// @notice Registers (or renews) a worker with a `WorkerRegistration` signed by at least
    /// `threshold` gatekeepers of the current epoch, signatures ordered by ascending signer address.
    /// Anyone may submit it. A registration must expire later than every earlier one and every
    /// revocation of the same worker, so old signatures cannot be replayed.
    function registerWorker(WorkerRegistration calldata reg, bytes[] calldata signatures) external {
        if (reg.worker == address(0) || reg.cluster == 0) revert InvalidRegistration();
        if (reg.epoch != _epoch) revert WrongEpoch(reg.epoch, _epoch);
        if (reg.expiresAt <= block.timestamp) revert RegistrationExpired(reg.expiresAt);
        WorkerInfo storage w = _workers[reg.worker];
        if (reg.expiresAt <= w.revokedUpTo || reg.expiresAt <= w.expiresAt) revert RegistrationSuperseded();
        _checkGatekeeperSignatures(
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        WORKER_REGISTRATION_TYPEHASH, reg.worker, reg.measurement, reg.cluster, reg.expiresAt, reg.epoch
                    )
                )
            ),
            signatures
        );
        if (w.cluster != 0 && w.cluster != reg.cluster) delete _authorizedUntil[reg.worker][w.cluster];
        w.cluster = reg.cluster;
        w.measurement = reg.measurement;
        w.expiresAt = reg.expiresAt;
        w.epoch = reg.epoch;
        _authorizedUntil[reg.worker][reg.cluster] = reg.expiresAt;
        emit WorkerRegistered(reg.worker, reg.cluster, reg.measurement, reg.expiresAt, reg.epoch);
    }

    /// @notice Revokes every registration of `worker` that expires at or before `revokeUpTo`
    /// (EIP-712 `WorkerRevocation`, gatekeeper threshold) and refuses such registrations from now on.
    /// `revokeUpTo = type(uint64).max` bans the worker address for good. Replaying a revocation
    /// never touches a later registration.
    function revokeWorker(address worker, uint64 revokeUpTo, uint64 epoch, bytes[] calldata signatures) external {
        if (epoch != _epoch) revert WrongEpoch(epoch, _epoch);
        _checkGatekeeperSignatures(
            _hashTypedDataV4(keccak256(abi.encode(WORKER_REVOCATION_TYPEHASH, worker, revokeUpTo, epoch))), signatures
        );
        WorkerInfo storage w = _workers[worker];
        if (revokeUpTo > w.revokedUpTo) w.revokedUpTo = revokeUpTo;
        bytes32 cluster = w.cluster;
        if (w.expiresAt != 0 && w.expiresAt <= revokeUpTo) {
            delete _authorizedUntil[worker][cluster];
            w.expiresAt = 0;
        }
        emit WorkerRevoked(worker, cluster, revokeUpTo, epoch);
    }

    /// @notice Registers a confidential contract: its cluster and its X25519 public key for the
    /// current epoch (EIP-712 `ContractRegistration`, gatekeeper threshold). At most one registration
    /// per contract and epoch is accepted, so an older one cannot be replayed over a newer one.
    function registerContract(ContractRegistration calldata reg, bytes[] calldata signatures) external {
        if (reg.cluster == 0 || reg.contractId == 0) revert InvalidRegistration();
        if (reg.epoch != _epoch) revert WrongEpoch(reg.epoch, _epoch);
        ContractRecord storage c = _contracts[reg.contractId];
        if (c.registered && reg.epoch <= c.epoch) revert RegistrationSuperseded();
        _checkGatekeeperSignatures(
            _hashTypedDataV4(
                keccak256(
                    abi.encode(CONTRACT_REGISTRATION_TYPEHASH, reg.contractId, reg.cluster, reg.publicKey, reg.epoch)
                )
            ),
            signatures
        );
        c.cluster = reg.cluster;
        c.publicKey = reg.publicKey;
        c.epoch = reg.epoch;
        c.registered = true;
        emit ContractRegistered(reg.contractId, reg.cluster, reg.publicKey, reg.epoch);
    }

    /// @notice Replaces the gatekeeper set and threshold and moves to `epoch`, which must be the
    /// current epoch + 1; signed (EIP-712 `GatekeeperSetUpdate`) by the current set's threshold.
    /// Registrations signed for an older epoch are refused afterwards; registered workers and
    /// contracts stay as they are. The same set with a new epoch marks a key rotation.
    function updateGatekeepers(
        address[] calldata newGatekeepers,
        uint16 newThreshold,
        uint64 epoch,
        bytes[] calldata signatures
    ) external {
        if (epoch != _epoch + 1) revert WrongEpoch(epoch, _epoch);
        _checkGatekeeperSignatures(
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        GATEKEEPER_SET_UPDATE_TYPEHASH,
                        keccak256(abi.encodePacked(newGatekeepers)),
                        newThreshold,
                        epoch
                    )
                )
            ),
            signatures
        );
        address[] storage old = _gatekeeperList;
        for (uint256 i; i < old.length; ++i) {
            _isGatekeeper[old[i]] = false;
        }
        delete _gatekeeperList;
        _setGatekeepers(newGatekeepers, newThreshold);
        _epoch = epoch;
        emit GatekeepersUpdated(epoch, newGatekeepers, newThreshold);
    }

    function _setGatekeepers(address[] memory members, uint16 threshold) private {
        uint256 n = members.length;
        if (n == 0 || n > MAX_GATEKEEPERS || threshold == 0 || threshold > n) revert InvalidGatekeeperSet();
        address last;
        for (uint256 i; i < n; ++i) {
            address member = members[i];
            if (member <= last) revert InvalidGatekeeperSet();
            _isGatekeeper[member] = true;
            _gatekeeperList.push(member);
            last = member;
        }
        _threshold = threshold;
    }

    /// @dev At least `threshold` valid signatures by current gatekeepers, signers strictly ascending
    /// (which also rules out one gatekeeper signing twice).
    function _checkGatekeeperSignatures(bytes32 digest, bytes[] calldata signatures) private view {
        uint256 threshold = _threshold;
        if (signatures.length < threshold) revert TooFewSignatures(signatures.length, threshold);
        address last;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = _recover(digest, signatures[i]);
            if (signer <= last) revert SignersNotAscending(i);
            if (!_isGatekeeper[signer]) revert NotAGatekeeper(signer);
            last = signer;
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The stored commitment of a pending request, or zero.
    function commitmentOf(bytes32 requestId) external view returns (bytes32) {
        return _commitments[requestId];
    }

    function workerOf(address worker) external view returns (WorkerInfo memory) {
        return _workers[worker];
    }

    /// @notice Whether `worker` may sign results for contracts of `cluster` right now.
    function isWorkerAuthorized(address worker, bytes32 cluster) external view returns (bool) {
        return _authorized(worker, cluster);
    }

    function contractOf(bytes32 contractId) external view returns (ContractInfo memory) {
        ContractRecord storage c = _contracts[contractId];
        return ContractInfo({
            cluster: c.cluster,
            publicKey: c.publicKey,
            epoch: c.epoch,
            nonce: 0, // request nonces are block-based (see `request`): no counter is kept
            registered: c.registered
        });
    }

    function gatekeepers() external view returns (address[] memory members, uint16 threshold, uint64 epoch) {
        return (_gatekeeperList, _threshold, _epoch);
    }
}
