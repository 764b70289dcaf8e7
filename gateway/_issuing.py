"""The issuing service: signs adapters' translations (ARCHITECTURE.md, "Layout").

Adapters never sign. In **partner mode** the partner runs this service with its own key (``vcgate adapters serve NAME
--key …``) and the mapping names the partner's DID as issuer; in **witness mode** CBP's gateway signs as witness and
the record's native signer stays named in the evidence. Either way the credential's issuer must be the DID that
controls the signing key, and the translation must be a well-formed canonical credential.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vcgate.adapters.sdk import Translation
from vcgate.canonical_schema import VcgateError, validate

from .verification._keys import KeyPair
from .verification._proofs import SUITES, sign
from .verification._verify import issuer_id


class IssuingError(VcgateError):
    """A translation cannot be issued with this key (wrong issuer, invalid credential, unknown suite)."""


@dataclass(frozen=True)
class IssuingService:
    """Signs translations with one key and suite. Build with :meth:`for_key`."""

    key: KeyPair
    suite: str = "eddsa-rdfc-2022"

    @classmethod
    def for_key(cls, key: KeyPair, suite: str = "eddsa-rdfc-2022") -> IssuingService:
        """A service signing with ``key`` under ``suite`` (checked now, not at the first credential)."""
        spec = SUITES.get(suite)
        if spec is None:
            raise IssuingError(f"unknown cryptosuite {suite!r}; supported: {', '.join(SUITES)}")
        if key.key_type not in spec.key_types:
            raise IssuingError(f"{suite} signs with {'/'.join(spec.key_types)} keys, not {key.key_type}")
        return cls(key, suite)

    @property
    def issuer(self) -> str:
        """The DID this service issues as (the key's controller)."""
        return self.key.controller

    def issue(self, translation: Translation | Mapping[str, Any], *, created: datetime) -> dict[str, Any]:
        """Sign one translation (or unsigned credential). ``created`` is the proof's time, not a validity date."""
        credential = translation.to_json() if isinstance(translation, Translation) else copy.deepcopy(dict(translation))
        if "proof" in credential:
            raise IssuingError(f"credential {credential.get('id')} already has a proof")
        issuer = issuer_id(credential)
        if issuer != self.issuer:
            mode = _mode(credential)
            raise IssuingError(
                f"credential {credential.get('id')} names issuer {issuer!r} ({mode} mode), but this service signs as "
                f"{self.issuer!r}: in partner mode run the service with the partner's key; in witness mode "
                "configure the adapter with this gateway's DID as witness"
            )
        problems = validate(credential)
        if problems:
            first = problems[0]
            raise IssuingError(
                f"credential {credential.get('id')} is not a valid canonical credential: "
                f"{first.code} at {first.pointer or '/'}: {first.detail}"
            )
        return sign(credential, self.key, suite=self.suite, created=created)

    def issue_all(self, translations: Iterable[Translation], *, created: datetime) -> Iterator[dict[str, Any]]:
        """Sign a stream of translations."""
        for t in translations:
            yield self.issue(t, created=created)


def _mode(credential: Mapping[str, Any]) -> str:
    for ev in credential.get("evidence") or []:
        if isinstance(ev, dict) and "issuanceMode" in ev:
            return str(ev["issuanceMode"])
    return "unknown"
