"""The issuing service: signs adapters' translations (ARCHITECTURE.md, "Layout").

Adapters never sign. In **partner mode** the partner runs this service with its own key (``vcgate adapters serve NAME
--key …``) and the mapping names the partner's DID as issuer; in **witness mode** CBP's gateway signs as witness and
the record's native signer stays named in the evidence. Either way the credential's issuer must be the DID that
controls the signing key, and the translation must be a well-formed canonical credential.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from vcgate.adapters.sdk import Translation
from vcgate.canonical_schema import CREDENTIALS_V1_URL, VcgateError, validate

from .verification._keys import KeyFileError, KeyPair
from .verification._proofs import DATA_INTEGRITY_V2_CONTEXT, SUITES, sign
from .verification._verify import issuer_id

__all__ = ["IssuerInstance", "IssuingError", "IssuingService", "load_issuers", "with_suite_context"]


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


def with_suite_context(credential: Mapping[str, Any], suite: str) -> dict[str, Any]:
    """``credential`` with the context its proof's terms need: a VC 1.1 credential (``credentials/v1``, which does
    not define ``DataIntegrityProof``, ``cryptosuite`` …) secured with a ``DataIntegrityProof`` gets
    ``https://w3id.org/security/data-integrity/v2`` appended, as VC Data Integrity §2.1 requires. ``credentials/v2``
    defines the proof terms itself, so VC 2.0 credentials are returned unchanged (as a copy)."""
    out = dict(credential)
    spec = SUITES.get(suite)
    ctx = out.get("@context")
    if spec is None or spec.proof_type != "DataIntegrityProof" or not isinstance(ctx, list):
        return out
    if ctx[:1] == [CREDENTIALS_V1_URL] and DATA_INTEGRITY_V2_CONTEXT not in ctx:
        out["@context"] = [*ctx, DATA_INTEGRITY_V2_CONTEXT]
    return out


# --- issuer instances (the VC-API's /issuers/{name}/credentials/issue) -------------------------------------------

IssuerDidMethod = Literal["key", "web"]
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
#: What an instance secures credentials as: an embedded Data Integrity proof, or an enveloping vc+jwt.
IssuerFormat = Literal["ldp", "vc+jwt"]


@dataclass(frozen=True)
class IssuerInstance:
    """One configured issuer of the HTTP API: a key, the DID it is named by and the suites it signs with.

    ``did: key`` names the key by its ``did:key``; ``did: web`` names it ``<gateway did>:issuers:<name>``, whose DID
    document the gateway serves at ``/issuers/<name>/did.json``. ``suites[0]`` is the default cryptosuite.
    """

    name: str
    key: KeyPair
    method: IssuerDidMethod
    suites: tuple[str, ...]
    format: IssuerFormat = "ldp"

    @property
    def did(self) -> str:
        """The issuer DID (the key's controller)."""
        return self.key.controller

    def did_document(self) -> dict[str, Any]:
        """The DID document of a ``did:web`` instance (one Multikey, for assertions and authentication)."""
        from .verification._dids import DID_CONTEXT, MULTIKEY_CONTEXT

        vm = self.key.verification_method
        return {
            "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
            "id": self.did,
            "verificationMethod": [
                {
                    "id": vm,
                    "type": "Multikey",
                    "controller": self.did,
                    "publicKeyMultibase": self.key.public.to_multibase(),
                }
            ],
            "authentication": [vm],
            "assertionMethod": [vm],
        }


def _suites_for(key: KeyPair, wanted: Any, where: str) -> tuple[str, ...]:
    usable = tuple(n for n, s in SUITES.items() if key.key_type in s.key_types and n != "Ed25519Signature2020")
    if wanted is None:
        return usable
    if not isinstance(wanted, list) or not wanted or not all(isinstance(w, str) for w in wanted):
        raise IssuingError(f"{where}: cryptosuites must be a non-empty list of suite names")
    for w in wanted:
        if w not in usable:
            raise IssuingError(f"{where}: a {key.key_type} key cannot sign {w}; usable: {', '.join(usable)}")
    return tuple(wanted)


def load_issuers(path: str | Path, gateway_did: str) -> tuple[IssuerInstance, ...]:
    """Read an issuers file (YAML): ``issuers: [{name, key, did: key|web, cryptosuites?, format?}]``.

    ``key`` is a key file (``vcgate keys generate``), relative to the issuers file. Raises :class:`IssuingError`.
    """
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IssuingError(f"cannot read issuers file {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise IssuingError(f"issuers file {file} is not YAML: {exc}") from None
    entries = data.get("issuers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise IssuingError(f"{file}: expected a mapping with an 'issuers' list")
    out: list[IssuerInstance] = []
    for i, entry in enumerate(entries):
        where = f"{file}: issuers[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"name", "key", "did", "cryptosuites", "format"}:
            raise IssuingError(f"{where}: expected name, key, did and optionally cryptosuites, format")
        name, method, fmt = entry.get("name"), entry.get("did", "key"), entry.get("format", "ldp")
        if not isinstance(name, str) or not _NAME.match(name) or any(x.name == name for x in out):
            raise IssuingError(f"{where}: name must be a unique lowercase slug ([a-z0-9-], up to 63 characters)")
        if method not in ("key", "web") or fmt not in ("ldp", "vc+jwt"):
            raise IssuingError(f"{where}: did must be 'key' or 'web', format 'ldp' or 'vc+jwt'")
        if not isinstance(entry.get("key"), str):
            raise IssuingError(f"{where}: key must be the path of a key file")
        try:
            key = KeyPair.from_file(file.parent / entry["key"])
        except KeyFileError as exc:
            raise IssuingError(f"{where}: {exc}") from None
        if method == "web":
            did = f"{gateway_did}:issuers:{name}"
            key = KeyPair.from_private(key.private, did, f"{did}#{key.public.to_multibase()}")
        else:
            key = KeyPair.from_private(key.private)
        out.append(IssuerInstance(name, key, method, _suites_for(key, entry.get("cryptosuites"), where), fmt))
    return tuple(out)


def _mode(credential: Mapping[str, Any]) -> str:
    for ev in credential.get("evidence") or []:
        if isinstance(ev, dict) and "issuanceMode" in ev:
            return str(ev["issuanceMode"])
    return "unknown"
