"""Offline evidence checkers for every installed ledger kind, built without adapter connection settings.

An evidence checker needs only the credential and the pinned anchor (ARCHITECTURE.md, "Verification pipeline"). An
adapter class offers one through a class-level ``offline_evidence_checker()``; the built-in Fabric and plain-ledger
checkers are constructed directly (they take no configuration). The remote adapter is never a checker: its checks are
advisory (docs/remote-adapters.md).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator, Mapping

from vcgate.adapters.sdk import AdapterPlugin, EvidenceChecker, scan_adapters
from vcgate.canonical_schema import VcgateError

__all__ = ["LazyOfflineCheckers", "offline_checker_for", "offline_evidence_checkers"]

log = logging.getLogger("vcgate.evidence")

#: Built-in checkers that need no configuration, by ledger kind ("module:class").
_BUILTIN = {
    "fabric": "vcgate.adapters.fabric:FabricEvidenceChecker",
    "plain": "vcgate.adapters.plain_ledger:PlainLedgerEvidenceChecker",
}


def offline_checker_for(plugin: AdapterPlugin) -> EvidenceChecker | None:
    """The adapter's offline evidence checker, or ``None`` when it has none (it then needs its configuration)."""
    if plugin.kind == "remote":
        return None
    offline = getattr(plugin.factory, "offline_evidence_checker", None)
    if callable(offline):
        checker: EvidenceChecker = offline()
        return checker
    target = _BUILTIN.get(plugin.kind)
    if target is None:
        return None
    module, _, name = target.partition(":")
    built: EvidenceChecker = getattr(importlib.import_module(module), name)()
    return built


def offline_evidence_checkers() -> dict[str, EvidenceChecker]:
    """``{ledger kind: checker}`` for every installed adapter that can check its evidence offline."""
    out: dict[str, EvidenceChecker] = {}
    for plugin in scan_adapters().plugins:
        if plugin.kind in out:
            continue
        try:
            checker = offline_checker_for(plugin)
        except (ImportError, VcgateError) as exc:  # an adapter's optional dependencies may be missing
            log.warning("adapter %s: no offline evidence checker: %s", plugin.name, exc)
            continue
        if checker is not None:
            out[plugin.kind] = checker
    return out


class LazyOfflineCheckers(Mapping[str, EvidenceChecker]):
    """:func:`offline_evidence_checkers` (``extra`` on top), built on first use: a credential without ledger evidence
    loads no adapter (start-up time of ``vcgate verify``)."""

    def __init__(self, extra: Mapping[str, EvidenceChecker] | None = None) -> None:
        self._extra = dict(extra or {})
        self._built: dict[str, EvidenceChecker] | None = None

    def _all(self) -> dict[str, EvidenceChecker]:
        if self._built is None:
            self._built = {**offline_evidence_checkers(), **self._extra}
        return self._built

    def __getitem__(self, kind: str) -> EvidenceChecker:
        return self._all()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())
