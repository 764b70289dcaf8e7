"""The verification policy: an input of every verification (STYLE.md §5). A default ships in the package."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from vcgate.canonical_schema import VcgateError


class PolicyError(VcgateError):
    """A policy file is missing, not YAML/JSON, or does not match the policy schema."""


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("vcgate.gateway").joinpath("policies/policy.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


#: Every policy switch that weakens verification (docs/verification.md, "Unsafe switches").
UNSAFE_SWITCHES = ("unsafe_skip_status", "unsafe_skip_schema", "unsafe_skip_issuer_key_binding")

#: Earlier names of those switches: a policy still using one is refused with the new name, never half-applied.
_RENAMED = {
    "check_status": "unsafe_skip_status: true (for check_status: false)",
    "check_schema": "unsafe_skip_schema: true (for check_schema: false)",
    "require_issuer_key_binding": "unsafe_skip_issuer_key_binding: true (for require_issuer_key_binding: false)",
}


@dataclass(frozen=True)
class Policy:
    """A parsed, schema-checked verification policy."""

    name: str
    accepted_suites: frozenset[str]
    accepted_jwt_algorithms: frozenset[str]
    undefined_terms_allowed: Mapping[str, frozenset[str]]
    max_credential_bytes: int
    max_json_depth: int
    check_status: bool
    check_schema: bool
    require_issuer_key_binding: bool
    digest: str
    raw: Mapping[str, Any] = field(repr=False)
    #: The ``unsafe_*`` switches this policy turns on (empty for the default policy).
    unsafe: tuple[str, ...] = ()
    #: Refuse issuer-dependent terms instead of accepting them with a warning.
    strict_vocabulary: bool = False
    #: Issuance through the HTTP API: fill in a missing issuer (else refuse), sign an already expired credential.
    fill_missing_issuer: bool = True
    issue_expired: bool = False

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<policy>") -> Policy:
        """Validate ``data`` against the policy schema and build the policy."""
        if not isinstance(data, dict):
            raise PolicyError(f"{source}: a policy must be a mapping")
        renamed = [f"{old} is now {new}" for old, new in _RENAMED.items() if old in data]
        if renamed:
            raise PolicyError(f"{source}: switches that weaken verification are named unsafe_*: {'; '.join(renamed)}")
        errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.path) or "(top level)"
            raise PolicyError(f"{source}: invalid policy at {where}: {e.message}")
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        allowed = {k: frozenset(v) for k, v in (data.get("undefined_terms_allowed") or {}).items()}
        return cls(
            name=data["name"],
            accepted_suites=frozenset(data.get("accepted_suites") or ()),
            accepted_jwt_algorithms=frozenset(data.get("accepted_jwt_algorithms") or ()),
            undefined_terms_allowed=allowed,
            max_credential_bytes=int(data.get("max_credential_bytes", 1 << 20)),
            max_json_depth=int(data.get("max_json_depth", 64)),
            check_status=not data.get("unsafe_skip_status", False),
            check_schema=not data.get("unsafe_skip_schema", False),
            require_issuer_key_binding=not data.get("unsafe_skip_issuer_key_binding", False),
            unsafe=tuple(k for k in UNSAFE_SWITCHES if data.get(k) is True),
            strict_vocabulary=bool(data.get("strict_vocabulary", False)),
            fill_missing_issuer=bool((data.get("issuance") or {}).get("fill_missing_issuer", True)),
            issue_expired=bool((data.get("issuance") or {}).get("allow_expired", False)),
            digest=digest,
            raw=data,
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Policy:
        """Load a YAML (or JSON) policy file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"policy {path} is not YAML: {exc}") from None
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def default(cls) -> Policy:
        """The policy shipped with vcgate (``gateway/policies/default.yaml``)."""
        return _default_policy()

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str]) -> Policy:
        """A policy file, or the name of a policy shipped with vcgate (``default``, ``w3c-interop``: the files in
        ``gateway/policies/``) when no such file exists."""
        path = Path(name_or_path)
        if path.exists() or not _SHIPPED_NAME.match(str(name_or_path)):
            return cls.from_file(path)
        shipped = resources.files("vcgate.gateway").joinpath(f"policies/{name_or_path}.yaml")
        if not shipped.is_file():
            raise PolicyError(
                f"no policy file {name_or_path} and no shipped policy of that name (default, w3c-interop)"
            )
        return cls.from_mapping(yaml.safe_load(shipped.read_text(encoding="utf-8")), source=f"{name_or_path} policy")

    def allowed_terms_for(self, types: list[str]) -> frozenset[str]:
        """Undefined terms the policy admits for a credential of these types."""
        out: set[str] = set()
        for t in types:
            out |= self.undefined_terms_allowed.get(t, frozenset())
        return frozenset(out)


_SHIPPED_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@cache
def _default_policy() -> Policy:
    text = resources.files("vcgate.gateway").joinpath("policies/default.yaml").read_text(encoding="utf-8")
    return Policy.from_mapping(yaml.safe_load(text), source="default policy")
