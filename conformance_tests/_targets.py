"""Targets of a conformance run and their settings.

``--target adapter:NAME`` tests an installed adapter in process (its configuration file carries a
``conformance:`` section); ``--target http(s)://…`` tests a VC-API endpoint; ``--target verifier:vcgate`` tests
vcgate's own verification library (the suite's reference, and a self-check of the vectors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from vcgate.adapters.sdk import CredentialMapping, Cursor, load_adapter_config, parse_datetime
from vcgate.canonical_schema import VcgateError

from ._cases import CASE_ID, TargetKind, catalogue


class ConformanceConfigError(VcgateError):
    """The target or its configuration cannot be used (unknown adapter, bad ``conformance:`` section, ...)."""


_SETTINGS_KEYS = frozenset(
    {
        "anchor",
        "anchorFile",
        "at",
        "sampleSize",
        "maxRecords",
        "mappings",
        "optOut",
        "referencePeer",
        "token",
        "clientId",
        "clientSecret",
        "scope",
        "issuer",
        "staleCursor",
        "timeout",
    }
)


@dataclass(frozen=True)
class Settings:
    """The parsed ``conformance:`` section of a target configuration (all optional; see docs/conformance.md)."""

    anchor: Mapping[str, Any] | None = None
    at: datetime | None = None
    sample_size: int = 5
    max_records: int = 1000
    mappings: tuple[str, ...] = ()
    opt_out: Mapping[str, str] = field(default_factory=dict)
    reference_peer: Path | None = None
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    issuer: str | None = None
    timeout: float = 30.0
    stale_cursor: str | None = None
    config_dir: Path = Path(".")

    @classmethod
    def from_section(cls, section: Any, config_dir: Path) -> Settings:
        """Parse and check a ``conformance:`` mapping; raise :class:`ConformanceConfigError` naming the bad key."""
        if section is None:
            return cls(config_dir=config_dir)
        if not isinstance(section, Mapping):
            raise ConformanceConfigError("the 'conformance' section must be a mapping")
        unknown = sorted(set(section) - _SETTINGS_KEYS)
        if unknown:
            raise ConformanceConfigError(
                f"unknown conformance setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_SETTINGS_KEYS))}"
            )

        def positive(key: str, default: int) -> int:
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConformanceConfigError(f"conformance.{key} must be a positive integer")
            return value

        def text(key: str) -> str | None:
            value = section.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConformanceConfigError(f"conformance.{key} must be a non-empty string")
            return value

        anchor = section.get("anchor")
        if "anchorFile" in section:
            if anchor is not None:
                raise ConformanceConfigError("give conformance.anchor or conformance.anchorFile, not both")
            path = config_dir / str(section["anchorFile"])
            try:
                anchor = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConformanceConfigError(f"cannot read conformance.anchorFile {path}: {exc}") from None
        if anchor is not None and not isinstance(anchor, Mapping):
            raise ConformanceConfigError("conformance.anchor must be a mapping (the anchor the policy pins)")
        at = None
        if "at" in section:
            try:
                at = parse_datetime(str(section["at"]))
            except VcgateError as exc:
                raise ConformanceConfigError(f"conformance.at: {exc}") from None
        mappings = section.get("mappings", [])
        if not isinstance(mappings, list) or not all(isinstance(m, str) and m for m in mappings):
            raise ConformanceConfigError("conformance.mappings must be a list of mapping file paths")
        opt_out = section.get("optOut", {}) or {}
        if not isinstance(opt_out, Mapping):
            raise ConformanceConfigError("conformance.optOut must map case ids to reasons")
        known = catalogue()
        for case_id, reason in opt_out.items():
            if not isinstance(case_id, str) or not CASE_ID.match(case_id) or case_id not in known:
                raise ConformanceConfigError(f"conformance.optOut names {case_id!r}, which is not a case id")
            if not isinstance(reason, str) or len(reason.strip()) < 10:
                raise ConformanceConfigError(
                    f"conformance.optOut[{case_id}] needs a reason (a sentence saying why the case cannot pass)"
                )
        peer = text("referencePeer")
        timeout = section.get("timeout", 30.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConformanceConfigError("conformance.timeout must be a positive number of seconds")
        return cls(
            anchor=dict(anchor) if anchor is not None else None,
            at=at,
            sample_size=positive("sampleSize", 5),
            max_records=positive("maxRecords", 1000),
            mappings=tuple(mappings),
            opt_out=dict(opt_out),
            reference_peer=(config_dir / peer) if peer else None,
            token=text("token"),
            client_id=text("clientId"),
            client_secret=text("clientSecret"),
            scope=text("scope"),
            issuer=text("issuer"),
            timeout=float(timeout),
            stale_cursor=stale_cursor(section.get("staleCursor")),
            config_dir=config_dir,
        )

    def published_mappings(self) -> tuple[CredentialMapping, ...]:
        """Load ``mappings``: file paths relative to the configuration, or ``package:<module>/<path>``."""
        out = []
        for spec in self.mappings:
            try:
                if spec.startswith("package:"):
                    module, _, inner = spec[len("package:") :].partition("/")
                    text = resources.files(module).joinpath(*inner.split("/")).read_text(encoding="utf-8")
                    out.append(CredentialMapping.from_text(text, source=spec))
                else:
                    out.append(CredentialMapping.from_file(self.config_dir / spec))
            except (OSError, ModuleNotFoundError) as exc:
                raise ConformanceConfigError(f"cannot read published mapping {spec}: {exc}") from None
        return tuple(out)


def stale_cursor(value: Any) -> str | None:
    """Check ``conformance.staleCursor``: a cursor token (``c1.…``) of a branch the ledger no longer holds."""
    if value is None:
        return None
    try:
        Cursor.decode(value)
    except VcgateError:
        raise ConformanceConfigError(
            "conformance.staleCursor must be a cursor token (c1.…) from a branch the ledger no longer holds"
        ) from None
    return str(value)


@dataclass(frozen=True)
class Target:
    """What a run tests: its kind, the adapter name or URL, the adapter's own configuration and the settings."""

    kind: TargetKind
    name: str
    settings: Settings
    adapter_config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``adapter:NAME``, the URL, or ``verifier:vcgate``."""
        return f"adapter:{self.name}" if self.kind == "adapter" else self.name


_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


def parse_target(spec: str, config_path: str | Path | None = None) -> Target:
    """Parse ``adapter:NAME`` / ``http(s)://…`` / ``verifier:vcgate`` and read its configuration file."""
    raw: dict[str, Any] = {}
    config_dir = Path.cwd()
    if config_path is not None:
        path = Path(config_path)
        try:
            raw = load_adapter_config(path)
        except VcgateError as exc:
            raise ConformanceConfigError(str(exc)) from None
        config_dir = Path(str(raw.get("configDir", path.resolve().parent)))
    settings = Settings.from_section(raw.pop("conformance", None), config_dir)
    if spec.startswith("adapter:") and len(spec) > len("adapter:"):
        if config_path is None:
            raise ConformanceConfigError("an adapter target needs --config (the adapter's configuration file)")
        return Target("adapter", spec[len("adapter:") :], settings, raw)
    if _URL.match(spec):
        return Target("vc-api", spec.rstrip("/"), settings)
    if spec == "verifier:vcgate":
        return Target("verifier", spec, settings)
    raise ConformanceConfigError(
        f"unknown target {spec!r}: use adapter:NAME, an http(s):// VC-API base URL, or verifier:vcgate"
    )
