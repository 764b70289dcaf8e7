// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title AnchorRegistry
/// @notice A party anchors the digest of a full signed credential it keeps off-chain. vcgate's Ethereum adapter reads
/// the `Anchored` events, fetches the credential, and checks that sha256 of its RFC 8785 (JCS) form equals the digest
/// anchored here by the transaction's sender. The contract keeps no other state than the first anchoring time, so a
/// digest cannot be re-dated by anchoring it again.
contract AnchorRegistry {
    /// @notice `anchorer` (always the transaction's msg.sender) anchored `digest`; `uri` says where the credential
    /// can be fetched (informational: the digest, not the URI, is what is checked).
    event Anchored(address indexed anchorer, bytes32 indexed digest, string uri);

    /// @notice anchorer => digest => block timestamp of its first anchoring (0: never anchored).
    mapping(address => mapping(bytes32 => uint256)) public anchoredAt;

    /// @notice Anchor one credential digest.
    function anchor(bytes32 digest, string calldata uri) external {
        _anchor(digest, uri);
    }

    /// @notice Anchor several credential digests in one transaction.
    function anchorBatch(bytes32[] calldata digests, string[] calldata uris) external {
        require(digests.length == uris.length, "AnchorRegistry: length mismatch");
        for (uint256 i = 0; i < digests.length; i++) {
            _anchor(digests[i], uris[i]);
        }
    }

    function _anchor(bytes32 digest, string calldata uri) private {
        if (anchoredAt[msg.sender][digest] == 0) {
            anchoredAt[msg.sender][digest] = block.timestamp;
        }
        emit Anchored(msg.sender, digest, uri);
    }
}
