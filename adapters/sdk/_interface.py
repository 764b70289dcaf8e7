"""The adapter interface (API version 2): what every ledger adapter, built-in or third-party, implements.

An adapter reads records from one ledger and translates them; it never signs and never imports
``vcgate.gateway``.
The loader checks these members at load time (see ``_loader.py``); the protocols here give type checkers the
same
contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Literal, Protocol, runtime_checkable

from ._mapping import MappingInfo
from ._records import Cursor, RecordPage, SourceRecord
from ._results import EvidenceResult
from ._translate import Translation

#: The adapter interface version this SDK implements. An adapter declares the version it was written against
#: as ``API_VERSION``; the loader refuses any other (docs/adapters.md, "API versions").
#: Version 2 (ADR 0010): checks are ``vcgate.canonical_schema.Check`` (re-exported here), with one overall rule.
API_VERSION: Final = 2

#: What changed in each version after the first, for the loader's message to a plugin written against an older one.
API_CHANGES: Final = {
    2: (
        "checkers return vcgate.canonical_schema.Check (the SDK re-exports it: name, status, problems, detail, "
        "stage) with one overall rule - invalid if any check failed, else error if any errored or none passed, "
        "else verified; adapter-specific Check types are gone"
    ),
}

#: Members every adapter class must have (checked by the loader).
ADAPTER_METHODS: Final = (
    "from_config",
    "describe",
    "records",
    "fetch",
    "translate",
    "evidence_checker",
    "health",
)


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    """What ``describe()`` returns: the adapter instance's id, kind, ledger id (CAIP-2 style), version and
    mappings."""

    id: str
    kind: str
    ledger_id: str
    version: str
    mappings: tuple[MappingInfo, ...]
    api_version: int = API_VERSION
    channel: str | None = None
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``vcgate adapters describe --json`` and the HTTP API."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "ledgerId": self.ledger_id,
            "version": self.version,
            "apiVersion": self.api_version,
            "mappings": [m.to_json() for m in self.mappings],
        }
        if self.channel is not None:
            out["channel"] = self.channel
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class Health:
    """What ``health()`` returns: ``ok``, ``degraded`` or ``down``, a human detail, and the ledger height
    seen."""

    status: Literal["ok", "degraded", "down"]
    detail: str = ""
    ledger_height: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if self.ledger_height is not None:
            out["ledgerHeight"] = self.ledger_height
        return out


@runtime_checkable
class EvidenceChecker(Protocol):
    """Checks one ``LedgerEvidence`` offline against the trust anchor the policy pins for its ledger.

    Pure: no I/O, no clock (``at`` is the instant to judge by). Returns every check it ran and never raises on
    bad
    input; evidence that reaches no anchor is ``error``, never ``verified``.
    """

    def check(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        *,
        at: datetime,
    ) -> EvidenceResult:
        """Check ``evidence`` (an item of ``credential["evidence"]``) against ``anchor``."""
        ...


@runtime_checkable
class LiveEvidenceChecker(EvidenceChecker, Protocol):
    """An evidence checker that can also re-check the evidence against the live ledger (through injected
    clients)."""

    def recheck_live(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        *,
        at: datetime,
    ) -> EvidenceResult:
        """Re-read the record from the ledger and check that it still says what the evidence says."""
        ...


@runtime_checkable
class Adapter(Protocol):
    """A ledger adapter (interface version :data:`API_VERSION`).

    Class attributes: ``API_VERSION`` (the interface version it implements) and ``KIND`` (its ledger kind,
    such as
    ``ethereum``). ``from_config`` builds an instance from a configuration mapping (read from YAML/JSON).
    """

    API_VERSION: ClassVar[int]
    KIND: ClassVar[str]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Adapter:
        """Build the adapter from its configuration; raise a ``VcgateError`` naming the bad setting."""
        ...

    def describe(self) -> AdapterInfo:
        """Adapter info: id, kind, ledger id, version, mappings."""
        ...

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        """Pages of records after ``since`` (from the start when ``None``), in ledger order; resumable."""
        ...

    def fetch(self, locator: str) -> SourceRecord:
        """The record at ``locator``; raise a ``VcgateError`` when there is none."""
        ...

    def translate(self, record: SourceRecord) -> Translation:
        """The unsigned canonical credential for ``record`` plus its ``LedgerEvidence``."""
        ...

    def evidence_checker(self) -> EvidenceChecker:
        """The offline checker for this adapter's evidence."""
        ...

    def health(self) -> Health:
        """Whether the ledger is reachable and how far it has got."""
        ...
