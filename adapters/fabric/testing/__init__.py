"""Test-only builders for Fabric ledger data: a test MSP (CA, peer, orderer, client certificates with
NodeOUs),
genesis blocks, endorser transactions and signed blocks in real Fabric wire format, and an in-process gRPC peer
(:class:`TestPeer`) serving them. Never used by verification."""

from ._network import (
    TestIdentity,
    TestNetwork,
    TestOrg,
    blockfile,
    build_chain,
    graft_header,
    header_hash_of,
    peer_response,
    strip_validation_codes,
)
from ._peer import (
    ProductLedger,
    TestPeer,
    TLSMaterial,
    build_product_ledger,
    issue_tls,
    product_value,
    write_msp_dir,
)

__all__ = [
    "ProductLedger",
    "TLSMaterial",
    "TestIdentity",
    "TestNetwork",
    "TestOrg",
    "TestPeer",
    "blockfile",
    "build_chain",
    "build_product_ledger",
    "graft_header",
    "header_hash_of",
    "issue_tls",
    "peer_response",
    "product_value",
    "strip_validation_codes",
    "write_msp_dir",
]
