// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title IPhalaBridgeGateway
/// @notice The EVM end of phala-bridge: programs send requests to confidential contracts that run
/// in attested TEE workers; relayers bring back results signed by a worker that gatekeepers
/// registered on this gateway. See docs/evm.md for the whole flow and the wire formats.
interface IPhalaBridgeGateway {
    /// @notice What `fulfill`/`fulfillBatch`/`fulfillBatches`/`cancel` pass so the gateway can
    /// check the stored commitment `keccak256(abi.encode(contractId, requester, callbackGasLimit,
    /// deadline))`. All fields are copied from the `RequestSent` event.
    struct RequestRef {
        bytes32 requestId;
        bytes32 contractId;
        address requester;
        uint32 callbackGasLimit;
        uint64 deadline;
    }

    /// @notice One result in a batch, at position `index` (which must equal its place in the
    /// array: the order is the worker's). Its Merkle leaf is `keccak256(abi.encode(index,
    /// keccak256(abi.encode(requestId, keccak256(publicOutput), keccak256(sealedOutput), stateRoot))))`.
    struct FulfillmentItem {
        RequestRef request;
        bytes publicOutput;
        bytes sealedOutput;
        bytes32 stateRoot;
        uint32 index;
    }

    /// @notice One worker's signed batch, as `fulfillBatch` takes it, for `fulfillBatches`.
    struct WorkerBatch {
        FulfillmentItem[] items;
        bytes signature;
    }

    /// @notice EIP-712 `WorkerRegistration`, signed by at least `threshold` gatekeepers.
    struct WorkerRegistration {
        address worker;
        bytes32 measurement;
        bytes32 cluster;
        uint64 expiresAt;
        uint64 epoch;
    }

    /// @notice EIP-712 `ContractRegistration`: which cluster's workers may answer a confidential
    /// contract, and the contract's X25519 public key (what clients seal inputs to) for `epoch`.
    struct ContractRegistration {
        bytes32 contractId;
        bytes32 cluster;
        bytes32 publicKey;
        uint64 epoch;
    }

    /// @notice A registered worker as stored. `revokedUpTo`: registrations with
    /// `expiresAt <= revokedUpTo` are refused, so an old signed registration can never be replayed.
    struct WorkerInfo {
        bytes32 cluster;
        bytes32 measurement;
        uint64 expiresAt;
        uint64 epoch;
        uint64 revokedUpTo;
    }

    /// @notice A registered confidential contract as stored.
    struct ContractInfo {
        bytes32 cluster;
        bytes32 publicKey;
        uint64 epoch;
        uint64 nonce; // always 0: request nonces are block-based (see `request`)
        bool registered;
    }

    /// @notice Outcome of one fulfillment. `Delivered` and `CallbackFailed` consume the request;
    /// the others (batch only) leave it as it was.
    enum FulfillResult {
        Delivered,
        CallbackFailed,
        NotPending,
        CommitmentMismatch,
        Expired,
        WorkerNotAuthorized
    }

    /// @notice Everything a relayer needs to act without reading anything else. `endUser` is the
    /// account the requester acts for (`requestFor`), or the requester itself (`request`).
    event RequestSent(
        bytes32 indexed requestId,
        bytes32 indexed contractId,
        address indexed requester,
        address endUser,
        uint64 nonce,
        bytes sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    );
    /// @notice The request was answered; `result` is `Delivered` or `CallbackFailed`.
    event RequestFulfilled(bytes32 indexed requestId, address indexed worker, FulfillResult result);
    /// @notice The consumer's callback reverted or ran out of gas; `returnData` is capped.
    event CallbackFailed(bytes32 indexed requestId, bytes returnData);
    /// @notice A batch item that was not applied (the request is unchanged).
    event FulfillmentSkipped(bytes32 indexed requestId, address indexed worker, FulfillResult reason);
    /// @notice The requester withdrew the request after its deadline; stop working on it.
    event RequestCancelled(bytes32 indexed requestId, address indexed requester);
    event WorkerRegistered(
        address indexed worker, bytes32 indexed cluster, bytes32 measurement, uint64 expiresAt, uint64 epoch
    );
    event WorkerRevoked(address indexed worker, bytes32 indexed cluster, uint64 revokeUpTo, uint64 epoch);
    event ContractRegistered(bytes32 indexed contractId, bytes32 indexed cluster, bytes32 publicKey, uint64 epoch);
    event GatekeepersUpdated(uint64 indexed epoch, address[] gatekeepers, uint16 threshold);

    error ContractNotRegistered(bytes32 contractId);
    error InvalidDeadline(uint64 deadline);
    error CallbackGasTooHigh(uint32 callbackGasLimit, uint32 max);
    error InputTooLarge(uint256 length, uint256 max);
    error RequestNotPending(bytes32 requestId);
    error CommitmentMismatch(bytes32 requestId);
    error RequestExpired(bytes32 requestId);
    error DeadlineNotPassed(bytes32 requestId, uint64 deadline);
    error NotRequester(address caller);
    error InvalidSignature();
    error WorkerNotAuthorized(address signer, bytes32 cluster);
    error InsufficientGasForCallback(uint256 gasLeft, uint32 callbackGasLimit);
    error EmptyBatch();
    /// @notice Item `index` of a batch is out of its signed place or its encoding leaves the calldata.
    error MalformedBatch(uint256 index);
    error TooFewSignatures(uint256 given, uint256 threshold);
    error SignersNotAscending(uint256 index);
    error NotAGatekeeper(address signer);
    error WrongEpoch(uint64 given, uint64 current);
    error InvalidRegistration();
    error RegistrationExpired(uint64 expiresAt);
    error RegistrationSuperseded();
    error InvalidGatekeeperSet();
    /// @notice `requestFor` was given the zero address as the end user.
    error InvalidEndUser();
    /// @notice An identical request (same requester, end user, contract, response key and sealed
    /// input) was already made in this block by another transaction and is pending.
    error DuplicateRequest(bytes32 requestId);

    function request(
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external returns (bytes32 requestId);

    function requestFor(
        address endUser,
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external returns (bytes32 requestId);

    function fulfill(
        RequestRef calldata ref,
        bytes calldata publicOutput,
        bytes calldata sealedOutput,
        bytes32 stateRoot,
        bytes calldata signature
    ) external returns (FulfillResult result);

    function fulfillBatch(FulfillmentItem[] calldata items, bytes calldata signature)
        external
        returns (FulfillResult[] memory results);

    /// @notice Several workers' signed batches in one transaction, each checked against its own
    /// signer as `fulfillBatch` checks one; `results[b][i]` is the code of batch `b`'s item `i`.
    function fulfillBatches(WorkerBatch[] calldata batches) external returns (FulfillResult[][] memory results);

    function cancel(RequestRef calldata ref) external;

    function registerWorker(WorkerRegistration calldata registration, bytes[] calldata signatures) external;

    function revokeWorker(address worker, uint64 revokeUpTo, uint64 epoch, bytes[] calldata signatures) external;

    function registerContract(ContractRegistration calldata registration, bytes[] calldata signatures) external;

    function updateGatekeepers(
        address[] calldata gatekeepers,
        uint16 threshold,
        uint64 epoch,
        bytes[] calldata signatures
    ) external;

    function commitmentOf(bytes32 requestId) external view returns (bytes32);

    function workerOf(address worker) external view returns (WorkerInfo memory);

    function isWorkerAuthorized(address worker, bytes32 cluster) external view returns (bool);

    function contractOf(bytes32 contractId) external view returns (ContractInfo memory);

    function gatekeepers() external view returns (address[] memory members, uint16 threshold, uint64 epoch);
}
