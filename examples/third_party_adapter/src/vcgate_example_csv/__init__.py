"""Example third-party vcgate adapter: a CSV file treated as an append-only ledger.

Registered through the ``vcgate.adapters`` entry point ``csv-ledger`` (see pyproject.toml). Each data row is
one
record; the "ledger" commits to all rows with an RFC 9162 Merkle tree, whose root a policy pins as the anchor.
"""

from ._adapter import CsvEvidenceChecker, CsvLedgerAdapter
from ._merkle import inclusion_proof, leaf_hash, merkle_root, root_from_inclusion_proof

__all__ = [
    "CsvEvidenceChecker",
    "CsvLedgerAdapter",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "root_from_inclusion_proof",
]
