"""The CSV-ledger adapter and its offline evidence checker.

The "ledger" is a CSV file with a header line and one record per row. Columns ``seq`` (ascending integer),
``recorded_at`` (the ledger time, RFC 3339) and ``signer`` (the key that wrote the row) are ledger metadata; a
row
whose ``revokes`` column names an earlier ``seq`` is a revocation. Every row (re-serialised canonically,
header
included) is a leaf of an RFC 9162 Merkle tree; the tree head (size + root) is the trust anchor a policy pins.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from hashlib import sha256
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from vcgate.adapters.sdk import (
    API_VERSION,
    AdapterInfo,
    Check,
    CheckStatus,
    CredentialMapping,
    Cursor,
    EvidenceResult,
    Health,
    LedgerEvidence,
    RecordPage,
    SourceRecord,
    Translation,
    apply_mapping,
    paginate,
    parse_datetime,
)
from vcgate.canonical_schema import InputError, Problem, VcgateError, b64url_decode

from ._merkle import inclusion_proof, merkle_root, root_from_inclusion_proof

_METADATA = ("seq", "recorded_at", "signer", "revokes")
VERSION = "0.1.0"


def _canonical_row(header: list[str], row: list[str]) -> bytes:
    # One record's bytes: header line + row line, RFC 4180 quoting, "\n" line ends. The SDK decodes exactly
    # this
    # shape (text/csv with one data row), so a verifier can replay the mapping without this package.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerow(row)
    return buffer.getvalue().rstrip("\n").encode("utf-8")


class CsvLedgerAdapter:
    """A CSV file as an append-only ledger (example third-party adapter)."""

    API_VERSION: ClassVar[int] = API_VERSION
    KIND: ClassVar[str] = "csv"

    def __init__(
        self,
        *,
        adapter_id: str,
        ledger: str,
        path: Path,
        mapping: CredentialMapping,
        page_size: int = 100,
        witness: str | None = None,
    ) -> None:
        self._id = adapter_id
        self._ledger_id = f"csv:{ledger}"
        self._path = path
        self._mapping = mapping
        self._page_size = page_size
        self._witness = witness

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CsvLedgerAdapter:
        """Settings: ``id``, ``ledger`` (name), ``path`` (CSV file, relative to ``configDir``), optional
        ``pageSize``,
        ``mapping`` (a mapping file; default: the bundled invoice mapping) and ``witness`` (DID, witness
        mode)."""
        for key in ("id", "ledger", "path"):
            if not isinstance(config.get(key), str) or not config[key]:
                raise InputError(f"setting {key!r} is required (a non-empty string)")
        base = Path(str(config.get("configDir", ".")))
        path = base / str(config["path"])
        if "mapping" in config:
            mapping = CredentialMapping.from_file(base / str(config["mapping"]))
        else:
            text = resources.files(__package__).joinpath("mappings/invoice.yaml").read_text(encoding="utf-8")
            mapping = CredentialMapping.from_text(text, source="vcgate_example_csv/mappings/invoice.yaml")
        page_size = config.get("pageSize", 100)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InputError("setting 'pageSize' must be a positive integer")
        witness = config.get("witness")
        return cls(
            adapter_id=str(config["id"]),
            ledger=str(config["ledger"]),
            path=path,
            mapping=mapping,
            page_size=page_size,
            witness=str(witness) if witness else None,
        )

    # -- reading the file ------------------------------------------------------------------------------------

    def _read(self) -> tuple[list[str], list[list[str]]]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except OSError as exc:
            raise VcgateError(f"cannot read CSV ledger {self._path}: {exc}") from None
        rows = list(csv.reader(io.StringIO(text, newline="")))
        if not rows or any(c not in rows[0] for c in _METADATA):
            raise VcgateError(f"CSV ledger {self._path} needs a header with columns {', '.join(_METADATA)}")
        return rows[0], [r for r in rows[1:] if r]

    def _entries(self) -> list[tuple[Cursor, SourceRecord]]:
        header, rows = self._read()
        leaves = [_canonical_row(header, r) for r in rows]
        root = merkle_root(leaves).hex()
        col = {name: header.index(name) for name in _METADATA}
        out = []
        for i, row in enumerate(rows):
            seq = int(row[col["seq"]])
            revokes = row[col["revokes"]] or None
            record = SourceRecord(
                ledger_id=self._ledger_id,
                ledger_kind=self.KIND,
                locator=f"row/{seq}",
                raw=leaves[i],
                media_type="text/csv",
                native_signer={"kind": "csv-signer-column", "keyId": row[col["signer"]]},
                ledger_time=parse_datetime(row[col["recorded_at"]]),
                ledger_height=i + 1,
                proof_material={
                    "leafIndex": i,
                    "treeSize": len(leaves),
                    "rootHash": root,
                    "inclusionProof": [h.hex() for h in inclusion_proof(i, leaves)],
                },
                kind="revocation" if revokes else "record",
                supersedes=f"row/{revokes}" if revokes else None,
            )
            out.append((Cursor((seq,)), record))
        return out

    # -- the adapter interface -------------------------------------------------------------------------------

    def describe(self) -> AdapterInfo:
        """This instance: its id, ``csv`` kind, ledger id and the one mapping it publishes."""
        return AdapterInfo(
            id=self._id,
            kind=self.KIND,
            ledger_id=self._ledger_id,
            version=VERSION,
            mappings=(self._mapping.info(),),
            description=f"CSV ledger at {self._path.name}",
        )

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        """Rows after ``since`` in ``seq`` order, ``pageSize`` at a time."""
        return paginate(self._entries(), since, self._page_size)

    def fetch(self, locator: str) -> SourceRecord:
        """The row with locator ``row/<seq>``."""
        for _, record in self._entries():
            if record.locator == locator:
                return record
        raise InputError(f"no record {locator!r} in CSV ledger {self._ledger_id}")

    def translate(self, record: SourceRecord) -> Translation:
        """Apply the published mapping (pure)."""
        return apply_mapping(self._mapping, record, witness=self._witness)

    def evidence_checker(self) -> CsvEvidenceChecker:
        """The offline checker for CSV-ledger evidence."""
        return CsvEvidenceChecker()

    def health(self) -> Health:
        """``ok`` with the row count when the file reads, ``down`` otherwise."""
        try:
            _, rows = self._read()
        except VcgateError as exc:
            return Health("down", str(exc))
        return Health("ok", f"{len(rows)} rows", ledger_height=len(rows))

    def anchor(self) -> dict[str, Any]:
        """The current tree head, in the shape a policy pins as this ledger's trust anchor."""
        header, rows = self._read()
        leaves = [_canonical_row(header, r) for r in rows]
        return {"ledgerId": self._ledger_id, "treeSize": len(leaves), "rootHash": merkle_root(leaves).hex()}


class CsvEvidenceChecker:
    """Checks CSV-ledger evidence offline: the record's bytes are a leaf of the pinned tree head."""

    def check(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        *,
        at: datetime,
    ) -> EvidenceResult:
        """Checks ``csv.shape``, ``csv.anchor``, ``csv.record_digest``, ``csv.inclusion`` and ``csv.time``."""
        checks: list[Check] = []

        def problem(name: str, status: CheckStatus, code: str, detail: str) -> EvidenceResult:
            checks.append(Check(name, status, (Problem(code, "CSV ledger evidence", detail),)))
            return EvidenceResult(tuple(checks))

        try:
            parsed = LedgerEvidence.from_json(evidence)
            if parsed.ledger_kind != "csv":
                raise InputError(f"ledger kind {parsed.ledger_kind!r} is not csv")
            proof = parsed.proof_material
            index, size, root = int(proof["leafIndex"]), int(proof["treeSize"]), str(proof["rootHash"])
            path = [bytes.fromhex(h) for h in proof["inclusionProof"]]
            if not isinstance(parsed.raw_record, str):
                raise InputError("the CSV adapter embeds the raw record as base64url text")
            leaf = b64url_decode(parsed.raw_record)
        except (InputError, KeyError, TypeError, ValueError) as exc:
            return problem("csv.shape", CheckStatus.FAILED, "CSV_EVIDENCE_MALFORMED", str(exc))
        checks.append(Check.passed("csv.shape"))

        if anchor.get("ledgerId") != parsed.ledger_id or anchor.get("treeSize") != size:
            return problem(
                "csv.anchor",
                CheckStatus.ERROR,
                "CSV_NO_ANCHOR",
                f"no pinned tree head for {parsed.ledger_id} at size {size}",
            )
        if anchor.get("rootHash") != root:
            return problem("csv.anchor", CheckStatus.FAILED, "CSV_ROOT_MISMATCH", "evidence root differs from anchor")
        checks.append(Check.passed("csv.anchor"))

        if parsed.record_digest != "sha256:" + sha256(leaf).hexdigest():
            return problem("csv.record_digest", CheckStatus.FAILED, "CSV_DIGEST_MISMATCH", "recordDigest is wrong")
        checks.append(Check.passed("csv.record_digest"))

        if root_from_inclusion_proof(index, size, leaf, path) != bytes.fromhex(root):
            return problem(
                "csv.inclusion", CheckStatus.FAILED, "CSV_NOT_INCLUDED", "inclusion proof does not reach root"
            )
        # The ledger height of row i is i + 1 (rows so far); an unbound height would be a claim nobody checks.
        if parsed.ledger_height != index + 1:
            return problem(
                "csv.inclusion",
                CheckStatus.FAILED,
                "CSV_HEIGHT_MISMATCH",
                f"ledgerHeight {parsed.ledger_height} is not leaf index {index} + 1",
            )
        checks.append(Check.passed("csv.inclusion"))

        if parse_datetime(parsed.ledger_time) > at:
            return problem("csv.time", CheckStatus.FAILED, "CSV_FUTURE_RECORD", "ledger time is after the check time")
        checks.append(Check.passed("csv.time"))
        return EvidenceResult(tuple(checks))
