"""Test-only builders for Fabric ledger data: a test MSP (CA, peer, orderer, client certificates with
NodeOUs),
genesis blocks, endorser transactions and signed blocks in real Fabric wire format. Never used by
verification."""

from ._network import (
    TestIdentity,
    TestNetwork,
    TestOrg,
    blockfile,
    build_chain,
    header_hash_of,
    peer_response,
)

__all__ = [
    "TestIdentity",
    "TestNetwork",
    "TestOrg",
    "blockfile",
    "build_chain",
    "header_hash_of",
    "peer_response",
]
