"""Deliberately broken adapters, each the CSV-ledger example with one realistic bug.

They exist so that the conformance suite can show it fails them, each with exactly the case ids in EXPECTED.json:

- ``broken-subject`` (:class:`SubjectNotFromMappingAdapter`): "fixes up" the subject after applying its mapping, so
  the credential says something its published mapping does not produce (replay catches it: EVD-003).
- ``broken-cursor`` (:class:`SkippingCursorAdapter`): resumes one record too far (an off-by-one in the cursor), so
  a sync that stops and resumes silently skips records (ADP-003).
- ``broken-evidence`` (:class:`MismatchedEvidenceAdapter`): attaches the previous row's inclusion proof to every
  even row, so the evidence proves a different record (the offline anchor check catches it: EVD-002).

Never use them for anything else.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator

from vcgate_example_csv import CsvLedgerAdapter

from vcgate.adapters.sdk import Cursor, RecordPage, SourceRecord, Translation

__all__ = ["MismatchedEvidenceAdapter", "SkippingCursorAdapter", "SubjectNotFromMappingAdapter"]


class SubjectNotFromMappingAdapter(CsvLedgerAdapter):
    """Broken: adds one unit to the first line's item count after translating (not what the mapping produces)."""

    def translate(self, record: SourceRecord) -> Translation:
        """The mapping's translation, then a "correction" the published mapping does not make."""
        credential = copy.deepcopy(super().translate(record).to_json())
        line = credential["credentialSubject"]["itemsShipped"][0]
        line["itemCount"] = line["itemCount"] + 1
        return Translation(credential, credential["evidence"][0])


class SkippingCursorAdapter(CsvLedgerAdapter):
    """Broken: treats a resume cursor as "the next record is already done", skipping one record per resume."""

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        """Like the CSV adapter, except that resuming after ``(seq,)`` starts after ``(seq + 1,)``."""
        if since is None or not since.position:
            return super().records(since)
        (seq,) = since.position
        assert isinstance(seq, int)
        return super().records(Cursor((seq + 1,)))


class MismatchedEvidenceAdapter(CsvLedgerAdapter):
    """Broken: every even row carries the inclusion proof of the row before it."""

    def _entries(self) -> list[tuple[Cursor, SourceRecord]]:
        entries = super()._entries()
        out = []
        for i, (cursor, record) in enumerate(entries):
            if i % 2 == 1:
                record = dataclasses.replace(record, proof_material=entries[i - 1][1].proof_material)
            out.append((cursor, record))
        return out
