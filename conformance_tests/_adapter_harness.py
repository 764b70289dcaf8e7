"""The adapter under test: its plugin, instance, record stream and sampled translations, read once per run.

Everything here calls the adapter only through the SDK interface (``vcgate.adapters.sdk.Adapter``), so the same
cases run for built-in and third-party adapters alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from vcgate.adapters.sdk import (
    Adapter,
    AdapterInfo,
    AdapterPlugin,
    CredentialMapping,
    Cursor,
    MappingInfo,
    RecordPage,
    SourceRecord,
    Translation,
    TranslationError,
    load_adapter,
)
from vcgate.canonical_schema import VcgateError

from ._served import ServedAdapter
from ._targets import ConformanceConfigError, Target


@dataclass(frozen=True)
class Listing:
    """One full read of the stream from the start (capped at ``max_records``): the pages and their records."""

    pages: tuple[RecordPage, ...]
    truncated: bool

    @property
    def records(self) -> tuple[SourceRecord, ...]:
        """Every record read, in stream order."""
        return tuple(r for p in self.pages for r in p.records)

    @property
    def locators(self) -> tuple[str, ...]:
        """The records' locators, in stream order."""
        return tuple(r.locator for r in self.records)


def read_stream(adapter: Adapter, since: Cursor | None, max_records: int) -> Listing:
    """Read pages from ``since`` until the stream ends or ``max_records`` records have been read."""
    pages: list[RecordPage] = []
    count = 0
    for page in adapter.records(since):
        pages.append(page)
        count += len(page.records)
        if count >= max_records:
            return Listing(tuple(pages), truncated=True)
    return Listing(tuple(pages), truncated=False)


@dataclass(frozen=True)
class Sampled:
    """A sampled record and its translation."""

    record: SourceRecord
    translation: Translation

    @property
    def credential(self) -> dict[str, Any]:
        """A fresh JSON copy of the unsigned credential."""
        return self.translation.to_json()


class AdapterUnderTest:
    """The adapter named by an ``adapter:NAME`` target, created from its configuration."""

    def __init__(self, target: Target) -> None:
        if target.kind != "adapter":
            raise ConformanceConfigError(f"{target.label} is not an adapter target")
        self.target = target
        self.settings = target.settings
        self.started = datetime.now(UTC)
        try:
            self.plugin: AdapterPlugin = load_adapter(target.name)
        except VcgateError as exc:
            raise ConformanceConfigError(str(exc)) from None

    def new_instance(self) -> Adapter:
        """A fresh adapter instance from the configuration (``AdapterConfigError`` naming the plugin on failure)."""
        return self.plugin.create(self.target.adapter_config)

    @cached_property
    def adapter(self) -> Adapter:
        """The instance every case shares."""
        return self.new_instance()

    @cached_property
    def info(self) -> AdapterInfo:
        """``describe()`` of the instance."""
        return self.adapter.describe()

    @cached_property
    def listing(self) -> Listing:
        """The stream read once from the start."""
        listing = read_stream(self.adapter, None, self.settings.max_records)
        if not listing.records:
            raise AssertionError(
                "the adapter's record stream is empty: point its configuration at a ledger with records"
            )
        return listing

    @cached_property
    def sample(self) -> tuple[Sampled, ...]:
        """The first ``sampleSize`` records that are not revocations and that the adapter translates.

        A record the adapter refuses with a ``TranslationError`` (the SDK's "this record cannot become a
        credential", e.g. an attestation under a schema no mapping covers) is left out, as an adapter that skips
        such entries never lists them; any other exception is a crash and fails the cases that sample.
        """
        out = []
        refused = []
        for record in self.listing.records:
            if record.kind == "revocation":
                continue
            try:
                translation = self.adapter.translate(record)
            except TranslationError as exc:
                refused.append(f"{record.locator}: {exc}")
                continue
            out.append(Sampled(record, translation))
            if len(out) == self.settings.sample_size:
                break
        if not out:
            raise AssertionError(
                "the stream holds no translatable records"
                + (f" (translate refused: {'; '.join(refused[:3])})" if refused else " (only revocations)")
            )
        return tuple(out)

    @cached_property
    def published_mappings(self) -> dict[tuple[str, str], CredentialMapping]:
        """The published mapping documents named in the configuration, by (id, digest)."""
        return {(m.id, m.digest): m for m in self.settings.published_mappings()}

    def mapping_info(self, mapping_id: str, digest: str) -> MappingInfo | None:
        """The described mapping with this id and digest."""
        for m in self.info.mappings:
            if m.id == mapping_id and m.digest == digest:
                return m
        return None

    @cached_property
    def served(self) -> ServedAdapter:
        """The adapter as a served endpoint: a ``remote`` target's own service, else a fresh instance served by the
        suite on 127.0.0.1 (stopped by :meth:`close`)."""
        if self.plugin.kind == "remote":
            return ServedAdapter.for_remote_target(self.target.adapter_config)
        return ServedAdapter.serve(self.new_instance())

    @property
    def in_process(self) -> bool:
        """Whether the suite holds the adapter itself (so served answers can be compared with in-process ones)."""
        return self.plugin.kind != "remote"

    def close(self) -> None:
        """Stop what the run started (the served endpoint, if a case asked for it)."""
        served = self.__dict__.pop("served", None)
        if served is not None:
            served.close()

    @property
    def at(self) -> datetime:
        """The instant evidence is judged at: ``conformance.at``, else the time the run started."""
        return self.settings.at or self.started
