"""Test-only builders for Fabric ledger data: a test MSP (CA, peer, orderer, client certificates with
NodeOUs),
genesis blocks, endorser transactions and signed blocks in real Fabric wire format, and an in-process gRPC peer
(:class:`TestPeer`) serving them. Never used by verification."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._network import (
        TestIdentity,
        TestNetwork,
        TestOrg,
        blockfile,
        build_chain,
        graft_header,
        header_hash_of,
        peer_response,
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
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


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
    "write_msp_dir",
]
