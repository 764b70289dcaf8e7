"""``PlainLedgerAdapter``: the SDK adapter for a plain ledger read over its HTTP API.

Reading. The adapter is a log client: each pass of :meth:`PlainLedgerAdapter.records` fetches the latest checkpoint,
verifies it against the pinned log key and checks that it extends the checkpoint the adapter saw before (consistency
proof, RFC 9162 §2.1.4 — a ledger that forked or rewrote its history fails here, before anything is translated).
It then pages through the entries up to that checkpoint's size, fetches each entry's inclusion proof against it and
checks the whole chain (entry signature → leaf → audit path → signed checkpoint) before it emits the record.

Records. A ``record`` entry whose record has a mapping (chosen by its ``recordType`` field, configurable) becomes a
:class:`SourceRecord`; a ``revocation`` entry of such a record becomes a ``revocation`` record naming the revoked
entry's locator (``entries/<index>``), from which :meth:`PlainLedgerAdapter.revoked_credential_id` gives the id of
the credential it revokes. Entries with no mapping are listed in :attr:`PlainLedgerAdapter.skipped`.

Cursors are ``(entry index,)``: a page's ``next_cursor`` is the last entry it examined, so resuming continues exactly
after it. The evidence format and its offline checker are in ``_evidence_check.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Final, TypeVar

from vcgate.adapters.sdk import (
    API_VERSION,
    AdapterInfo,
    CredentialMapping,
    Cursor,
    Health,
    RecordPage,
    SourceRecord,
    Translation,
    TranslationError,
    apply_mapping,
    parse_datetime,
    revoked_credential_id,
)
from vcgate.canonical_schema import InputError, Problem, VcgateError

from ._checkpoint import Checkpoint, NoteVerifier, open_checkpoint
from ._client import LedgerClientError, PlainLedgerClient, RemoteEntry
from ._evidence_check import (
    LEDGER_KIND,
    CheckpointStore,
    MemoryCheckpointStore,
    PlainLedgerEvidenceChecker,
    index_from_locator,
    locator_for,
    native_signer_for,
)
from ._keys import ledger_id_for
from ._verify import (
    CHECKPOINT_ROLLBACK,
    CHECKPOINT_SIGNATURE_INVALID,
    FORK_DETECTED,
    check_consistency,
    check_inclusion,
)

VERSION: Final = "1.0.0"

#: The mappings shipped with the adapter (``mappings/<name>.yaml``), by name. ``<name>.witness`` are the witness-mode
#: versions of the same translations.
BUNDLED_MAPPINGS: Final = (
    "gs1-company-prefix-license",
    "gs1-identification-key-license",
    "cbp-3461-entry",
)

# Stable problem codes of the adapter (docs/plain-ledger.md, "Problem codes").
LEDGER_UNAVAILABLE: Final = "PLAIN_LEDGER_UNAVAILABLE"
LEDGER_MISBEHAVED: Final = "PLAIN_LEDGER_MISBEHAVED"
NO_MAPPING: Final = "PLAIN_LEDGER_NO_MAPPING"
NOT_FOUND: Final = "PLAIN_LEDGER_NOT_FOUND"

_T = TypeVar("_T")


class PlainLedgerAdapterError(VcgateError):
    """The ledger could not be read, or served something that does not verify (``problem`` says which)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.title}: {problem.detail} [{problem.code}]")
        self.problem = problem


def bundled_mapping(name: str) -> CredentialMapping:
    """A mapping shipped with the adapter: one of :data:`BUNDLED_MAPPINGS`, optionally with ``.witness``."""
    base = name.removesuffix(".witness")
    if base not in BUNDLED_MAPPINGS:
        raise InputError(f"no bundled plain-ledger mapping {name!r}; bundled: {', '.join(BUNDLED_MAPPINGS)}")
    text = resources.files(__package__).joinpath("mappings", f"{name}.yaml").read_text(encoding="utf-8")
    return CredentialMapping.from_text(text, source=f"vcgate.adapters.plain_ledger/mappings/{name}.yaml")


@dataclass(frozen=True, slots=True)
class _View:
    """A checkpoint the adapter verified, and the consistency proof from the one it saw before (if any)."""

    note: str
    checkpoint: Checkpoint
    consistency: Mapping[str, Any] | None


def _setting(config: Mapping[str, Any], key: str, kind: type[_T], default: _T | None = None) -> _T:
    value = config.get(key, default)
    if value is None:
        raise InputError(f"setting {key!r} is required")
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InputError(f"setting {key!r} must be a {kind.__name__}")
    return value


class PlainLedgerAdapter:
    """The plain-ledger adapter: a signed transparency log read over HTTP, translated by published mappings."""

    API_VERSION: ClassVar[int] = API_VERSION
    KIND: ClassVar[str] = LEDGER_KIND

    def __init__(
        self,
        client: PlainLedgerClient,
        log_verifier_key: str,
        mappings: Mapping[str, CredentialMapping],
        *,
        adapter_id: str = "plain-ledger",
        witness: str | None = None,
        record_type_field: str = "recordType",
        page_size: int = 100,
        checkpoint_store: CheckpointStore | None = None,
        url: str = "",
    ) -> None:
        try:
            self._verifier = NoteVerifier.from_vkey(log_verifier_key)
        except InputError as exc:
            raise InputError(f"setting 'logVerifierKey' is not a note verifier key: {exc}") from None
        if not mappings:
            raise InputError("the adapter needs at least one mapping (setting 'mappings')")
        for record_type, mapping in mappings.items():
            if mapping.issuance_mode == "witness" and not witness:
                raise InputError(
                    f"mapping {mapping.id} for record type {record_type!r} is in witness mode: set 'witness' to the "
                    "DID of the gateway that signs"
                )
        if witness is not None and not witness.startswith("did:"):
            raise InputError("setting 'witness' must be a DID")
        if page_size < 1 or page_size > 1000:
            raise InputError("setting 'pageSize' must be from 1 to 1000 (the ledger's page limit)")
        self._client = client
        self._vkey = log_verifier_key
        self._ledger_id = ledger_id_for(self._verifier.public_key)
        self._mappings = dict(mappings)
        self._id = adapter_id
        self._witness = witness
        self._type_field = record_type_field
        self._page_size = page_size
        self._store = checkpoint_store if checkpoint_store is not None else MemoryCheckpointStore()
        self._url = url
        self._last: _View | None = None
        self._record_types: dict[int, str | None] = {}
        #: Entries the adapter read but did not emit: ``(locator, reason)``.
        self.skipped: list[tuple[str, str]] = []

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PlainLedgerAdapter:
        """Build from settings (docs/plain-ledger.md, "The adapter"): ``url``, ``logVerifierKey`` (the pinned log
        key), optional ``id``, ``mode`` (``partner``/``witness``: which bundled mappings), ``witness`` (DID),
        ``mappings`` (record type → ``builtin:<name>`` or a mapping file relative to ``configDir``),
        ``recordTypeField``, ``pageSize``, ``timeout``."""
        url = _setting(config, "url", str)
        vkey = _setting(config, "logVerifierKey", str)
        mode = _setting(config, "mode", str, "partner")
        if mode not in ("partner", "witness"):
            raise InputError("setting 'mode' must be 'partner' or 'witness'")
        base = Path(str(config.get("configDir", ".")))
        chosen = config.get("mappings")
        mappings: dict[str, CredentialMapping] = {}
        if chosen is None:
            suffix = ".witness" if mode == "witness" else ""
            mappings = {name: bundled_mapping(name + suffix) for name in BUNDLED_MAPPINGS}
        elif isinstance(chosen, Mapping) and chosen:
            for record_type, spec in chosen.items():
                if not isinstance(record_type, str) or not isinstance(spec, str) or not spec:
                    raise InputError("setting 'mappings' maps record types to 'builtin:<name>' or a mapping file")
                if spec.startswith("builtin:"):
                    mappings[record_type] = bundled_mapping(spec.removeprefix("builtin:"))
                else:
                    mappings[record_type] = CredentialMapping.from_file(base / spec)
        else:
            raise InputError("setting 'mappings' must be a non-empty mapping of record type to mapping")
        timeout = config.get("timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InputError("setting 'timeout' must be a positive number of seconds")
        witness = config.get("witness")
        if witness is not None and not isinstance(witness, str):
            raise InputError("setting 'witness' must be a DID")
        return cls(
            PlainLedgerClient(url, timeout=float(timeout)),
            vkey,
            mappings,
            adapter_id=_setting(config, "id", str, "plain-ledger"),
            witness=witness,
            record_type_field=_setting(config, "recordTypeField", str, "recordType"),
            page_size=_setting(config, "pageSize", int, 100),
            url=url,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    # -- talking to the ledger -----------------------------------------------------------------------------------

    def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        try:
            return fn(*args)
        except LedgerClientError as exc:
            code = NOT_FOUND if exc.status == 404 else LEDGER_UNAVAILABLE
            raise PlainLedgerAdapterError(Problem(code, "Ledger request failed", str(exc))) from None

    def _misbehaved(self, detail: str, problem: Problem | None = None) -> PlainLedgerAdapterError:
        if problem is not None:
            return PlainLedgerAdapterError(Problem(problem.code, problem.title, f"{detail}: {problem.detail}"))
        return PlainLedgerAdapterError(
            Problem(LEDGER_MISBEHAVED, "The ledger served data that does not verify", detail)
        )

    def _observe(self) -> _View:
        """The latest checkpoint, verified against the pinned key and proven to extend the one seen before."""
        note = self._call(self._client.checkpoint)
        try:
            checkpoint = open_checkpoint(note, self._verifier)
        except InputError as exc:
            raise PlainLedgerAdapterError(
                Problem(
                    CHECKPOINT_SIGNATURE_INVALID,
                    "Checkpoint not signed by the pinned log key",
                    f"the ledger at {self._url or 'the configured URL'} served a checkpoint that does not verify "
                    f"with logVerifierKey: {exc}",
                )
            ) from None
        last = self._last
        if last is not None and last.checkpoint == checkpoint:
            return last  # the same tree head: the same evidence as before
        consistency: dict[str, Any] | None = None
        if last is not None and checkpoint.size <= last.checkpoint.size:
            # Two signed tree heads that cannot both be honest need no proof to convict the log.
            code, what = (
                (FORK_DETECTED, "another root hash for the same tree size")
                if checkpoint.size == last.checkpoint.size
                else (CHECKPOINT_ROLLBACK, "a smaller tree")
            )
            raise PlainLedgerAdapterError(
                Problem(
                    code,
                    "The ledger forked or rewrote its history",
                    f"the ledger now shows {what} (size {checkpoint.size}) than the checkpoint of size "
                    f"{last.checkpoint.size} seen before",
                )
            )
        if last is not None and last.checkpoint.size > 0:
            # RFC 9162 §2.1.4: the new tree head must extend the old one.
            proof = self._call(self._client.consistency_proof, last.checkpoint.size, checkpoint.size)
            result = check_consistency(last.note, note, proof, self._verifier)
            if result.status != "verified":
                raise self._misbehaved(
                    f"checkpoint {checkpoint.size} does not extend checkpoint {last.checkpoint.size} seen before",
                    result.problems[0] if result.problems else None,
                )
            consistency = {**proof.to_json(), "firstCheckpoint": last.note}
        view = _View(note, checkpoint, consistency)
        self._last = view
        return view

    def _record_type(self, index: int) -> str | None:
        if index not in self._record_types:
            self._remember_type(self._call(self._client.get, index))
        return self._record_types.get(index)

    def _remember_type(self, remote: RemoteEntry) -> None:
        # From the leaf bytes (what the tree commits to), not the server's convenience copy of the entry.
        try:
            entry = json.loads(remote.leaf)["entry"]
        except (ValueError, KeyError, TypeError):
            raise self._misbehaved(f"entry {remote.index} has a malformed leaf") from None
        self._remember_entry(remote.index, entry)

    def _remember_entry(self, index: int, entry: Mapping[str, Any]) -> None:
        record = entry.get("record") if entry.get("kind") == "record" else None
        value = record.get(self._type_field) if isinstance(record, dict) else None
        self._record_types[index] = value if isinstance(value, str) else None

    def _source_record(self, remote: RemoteEntry, view: _View, *, emit_unmapped: bool = False) -> SourceRecord | None:
        size = view.checkpoint.size
        proof = self._call(self._client.inclusion_proof, remote.index, size)
        if proof.index != remote.index or proof.tree_size != size:
            raise self._misbehaved(f"asked for the proof of entry {remote.index} in tree {size}, got another one")
        checked = check_inclusion(remote.leaf, proof, view.note, self._verifier)
        if checked.status != "verified":
            raise self._misbehaved(f"entry {remote.index} does not verify", checked.problems[0])
        leaf = json.loads(remote.leaf)
        entry: dict[str, Any] = leaf["entry"]
        self._remember_entry(remote.index, entry)
        locator = locator_for(remote.index)
        material: dict[str, Any] = {
            "entry": {k: v for k, v in entry.items() if k != "record"},
            "loggedAt": leaf["loggedAt"],
            "inclusionProof": proof.to_json(),
            "checkpoint": view.note,
        }
        if view.consistency is not None:
            material["consistencyProof"] = dict(view.consistency)
        common: dict[str, Any] = {
            "ledger_id": self._ledger_id,
            "ledger_kind": LEDGER_KIND,
            "locator": locator,
            "native_signer": native_signer_for(entry),
            "ledger_time": parse_datetime(leaf["loggedAt"]),
            # The first tree size that contains the entry: its "height" in the log (docs/plain-ledger.md).
            "ledger_height": remote.index + 1,
            "proof_material": material,
        }
        if entry["kind"] == "record":
            record_type = self._record_types.get(remote.index)
            if record_type not in self._mappings and not emit_unmapped:
                self.skipped.append((locator, f"no mapping for record type {record_type!r}"))
                return None
            return SourceRecord(raw=entry["record"], **common)
        target = remote.supersedes
        if not isinstance(target, int) or target >= remote.index:
            raise self._misbehaved(f"revocation entry {remote.index} names no earlier entry")
        declared = entry["supersedes"]
        if isinstance(declared, int) and declared != target:
            raise self._misbehaved(f"revocation entry {remote.index} supersedes {declared}, the ledger says {target}")
        if isinstance(declared, str):
            # The entry names the record by id; the ledger resolved it to an index: check that resolution.
            revoked = self._call(self._client.get, target)
            self._remember_type(revoked)
            if revoked.record_id != declared:
                raise self._misbehaved(f"revocation entry {remote.index} names {declared!r}, not entry {target}")
        if self._record_type(target) not in self._mappings and not emit_unmapped:
            self.skipped.append((locator, f"revokes {locator_for(target)}, which has no mapping"))
            return None
        raw = {k: v for k, v in entry.items() if k not in ("signer", "signature")}
        return SourceRecord(raw=raw, kind="revocation", supersedes=locator_for(target), **common)

    # -- the adapter interface -------------------------------------------------------------------------------------

    def published_mappings(self) -> tuple[CredentialMapping, ...]:
        """Every mapping this instance translates with (the gateway stores them so replay can rebuild credentials)."""
        return tuple({(m.id, m.digest): m for m in self._mappings.values()}.values())

    def describe(self) -> AdapterInfo:
        """This instance: id, kind ``plain``, ledger id ``plain:<fingerprint of the pinned key>``, mappings."""
        unique = {(m.id, m.digest): m.info() for m in self._mappings.values()}
        return AdapterInfo(
            id=self._id,
            kind=self.KIND,
            ledger_id=self._ledger_id,
            version=VERSION,
            mappings=tuple(unique.values()),
            description=f"plain ledger {self._verifier.name} at {self._url}" if self._url else "plain ledger",
        )

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        """Pages of records after ``since`` up to the latest verified checkpoint, ``pageSize`` entries per read."""
        start = 0
        if since is not None and since.position:
            position = since.position
            if len(position) != 1 or not isinstance(position[0], int) or position[0] < 0:
                raise InputError(f"a plain-ledger cursor is (entry index,), not {position!r}")
            start = position[0] + 1
        return self._pages(start)

    def _pages(self, start: int) -> Iterator[RecordPage]:
        view = self._observe()
        size = view.checkpoint.size
        index = start
        while index < size:
            entries, _ = self._call(self._client.list_entries, index, min(self._page_size, size - index))
            if not entries:
                raise self._misbehaved(f"the ledger lists no entry at {index} although its tree has {size}")
            batch: list[SourceRecord] = []
            for remote in entries:
                if remote.index != index:
                    raise self._misbehaved(f"asked for entry {index}, got entry {remote.index}")
                record = self._source_record(remote, view)
                if record is not None:
                    batch.append(record)
                index += 1
            if batch:
                yield RecordPage(tuple(batch), Cursor((index - 1,)))

    def fetch(self, locator: str) -> SourceRecord:
        """The entry at ``entries/<index>``, with its inclusion proof against the latest checkpoint."""
        index = index_from_locator(locator)
        view = self._observe()
        if index >= view.checkpoint.size:
            raise PlainLedgerAdapterError(
                Problem(NOT_FOUND, "No such entry", f"{locator}: the log has {view.checkpoint.size} entries")
            )
        record = self._source_record(self._call(self._client.get, index), view, emit_unmapped=True)
        assert record is not None
        return record

    def mapping_for(self, record: SourceRecord) -> CredentialMapping:
        """The mapping that translates ``record`` (or, for a revocation, the record it revokes)."""
        if record.kind == "revocation":
            assert record.supersedes is not None
            record_type = self._record_type(index_from_locator(record.supersedes))
        else:
            # Read the field from the record's own (already validated) JSON object: ``content`` would copy it all.
            raw = record.raw if isinstance(record.raw, Mapping) else record.content
            value = raw.get(self._type_field)
            record_type = value if isinstance(value, str) else None
        mapping = self._mappings.get(record_type) if record_type is not None else None
        if mapping is None:
            raise TranslationError(
                NO_MAPPING,
                f"no mapping for record type {record_type!r}; mapped: {', '.join(sorted(self._mappings))}",
                record_pointer="/" + self._type_field,
            )
        return mapping

    def translate(self, record: SourceRecord) -> Translation:
        """Apply the record type's published mapping (pure)."""
        if record.kind == "revocation":
            raise TranslationError(
                "MAPPING_REVOCATION_RECORD",
                f"record {record.locator} revokes {record.supersedes}; use revoked_credential_id()",
            )
        mapping = self.mapping_for(record)
        witness = self._witness if mapping.issuance_mode == "witness" else None
        return apply_mapping(mapping, record, witness=witness)

    def revoked_credential_id(self, record: SourceRecord) -> str:
        """The id of the credential a ``revocation`` record revokes (under the revoked record's mapping)."""
        return revoked_credential_id(self.mapping_for(record), record)

    def evidence_checker(self) -> PlainLedgerEvidenceChecker:
        """The offline checker, remembering the checkpoints it verifies (fork detection across credentials)."""
        return PlainLedgerEvidenceChecker(self._store)

    @classmethod
    def offline_evidence_checker(cls) -> PlainLedgerEvidenceChecker:
        """The checker without a configuration (no checkpoint memory), for the gateway's own evidence checks
        whoever runs the adapter."""
        return PlainLedgerEvidenceChecker()

    def health(self) -> Health:
        """``ok`` with the tree size when the ledger answers with a checkpoint the pinned key verifies."""
        try:
            view = self._observe()
        except PlainLedgerAdapterError as exc:
            return Health("down", str(exc))
        return Health("ok", f"tree size {view.checkpoint.size}", ledger_height=view.checkpoint.size)

    def anchor(self) -> dict[str, str]:
        """The trust anchor a policy pins for this ledger (docs/plain-ledger.md, "The adapter")."""
        return {"kind": LEDGER_KIND, "logVerifierKey": self._vkey}
