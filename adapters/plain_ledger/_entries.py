"""Plain-ledger entries: strictly parsed, signer-verified JSON records and revocations (pure, no I/O).

An entry is a JSON object signed by the submitting party. The signature covers the RFC 8785 (JCS) canonical bytes
of the entry without its ``signature`` member; the key is the signer's ``publicKeyMultibase`` (Ed25519, or P-256 with
ECDSA-SHA-256 and a raw 64-byte ``r ‖ s`` signature) and is bound to the signer's DID::

    {"kind": "record", "recordId": "inv-42", "record": {...}, "issuedAt": "2025-01-02T03:04:05Z",
     "signer": {"did": "did:key:z6Mk...", "publicKeyMultibase": "z6Mk..."}, "signature": "<base64url>"}
    {"kind": "revocation", "supersedes": 7 | "inv-42", "reason": "...", "signer": {...}, "signature": "..."}

The log wraps each accepted entry in a *leaf* ``{"entry": <entry>, "loggedAt": "<RFC 3339 UTC>"}`` and hashes its
JCS bytes into the Merkle tree, so the log time is covered by the log's signed checkpoints.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import nacl.exceptions
import nacl.signing
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from vcgate.canonical_schema import (
    DecodedPublicKey,
    InputError,
    Problem,
    b64url_decode,
    canonical_json,
    json_pointer,
    public_key_from_multibase,
)

MAX_ENTRY_SIZE = 64 * 1024
"""Largest accepted entry, in bytes, both as submitted and as JCS bytes (documented in docs/plain-ledger.md)."""

MAX_RECORD_ID_LENGTH = 256
MAX_REASON_LENGTH = 1024
MAX_JSON_DEPTH = 32

EntryKind = Literal["record", "revocation"]

# Stable problem codes (docs/plain-ledger.md, "Problem codes").
ENTRY_MALFORMED = "PLAIN_LEDGER_ENTRY_MALFORMED"
ENTRY_TOO_LARGE = "PLAIN_LEDGER_ENTRY_TOO_LARGE"
ENTRY_INVALID = "PLAIN_LEDGER_ENTRY_INVALID"
ENTRY_UNSIGNED = "PLAIN_LEDGER_ENTRY_UNSIGNED"
SIGNER_KEY_UNSUPPORTED = "PLAIN_LEDGER_SIGNER_KEY_UNSUPPORTED"
SIGNER_DID_MISMATCH = "PLAIN_LEDGER_SIGNER_DID_MISMATCH"
SIGNATURE_INVALID = "PLAIN_LEDGER_SIGNATURE_INVALID"
LEAF_MALFORMED = "PLAIN_LEDGER_LEAF_MALFORMED"

_RECORD_MEMBERS = frozenset({"kind", "recordId", "record", "issuedAt", "signer", "signature"})
_REVOCATION_MEMBERS = frozenset({"kind", "supersedes", "reason", "issuedAt", "signer", "signature"})
_DID_RE = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%\-]+")
_RFC3339_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


class EntryError(InputError):
    """An entry (or a leaf) was refused; ``problem`` says why with a stable code."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.title}: {problem.detail}" if problem.detail else problem.title)
        self.problem = problem


def _reject(code: str, title: str, detail: str = "", pointer: str = "") -> EntryError:
    return EntryError(Problem(code, title, detail, pointer))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any, limit: int) -> int:
    if limit < 0:
        return limit
    if isinstance(value, dict):
        return min([_depth(v, limit - 1) for v in value.values()] or [limit])
    if isinstance(value, list):
        return min([_depth(v, limit - 1) for v in value] or [limit])
    return limit


def parse_json_strict(data: bytes | str, *, max_size: int = MAX_ENTRY_SIZE) -> Any:
    """Parse JSON text strictly: UTF-8, size-bounded, no duplicate members, no NaN/Infinity, bounded depth."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_size:
        raise _reject(ENTRY_TOO_LARGE, "Entry too large", f"{len(raw)} bytes; the limit is {max_size} bytes")
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _reject(ENTRY_MALFORMED, "Malformed JSON", str(exc)) from None
    if _depth(value, MAX_JSON_DEPTH) < 0:
        raise _reject(ENTRY_MALFORMED, "Malformed JSON", f"nesting deeper than {MAX_JSON_DEPTH} levels")
    return value


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes; raises :class:`EntryError` for values JCS cannot represent (I-JSON limits)."""
    try:
        return canonical_json(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise _reject(ENTRY_INVALID, "Not canonicalizable", f"RFC 8785 refuses the value: {exc}") from None


def _check_text(value: Any, pointer: str, max_length: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise _reject(ENTRY_INVALID, "Invalid entry", f"must be a string of 1 to {max_length} characters", pointer)
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise _reject(ENTRY_INVALID, "Invalid entry", "must not contain control characters", pointer)
    return value


@dataclass(frozen=True, slots=True)
class EntrySigner:
    """The submitting party: its DID and the public key (Ed25519 or P-256) that signed the entry."""

    did: str
    public_key: DecodedPublicKey

    def to_json(self) -> dict[str, str]:
        """The ``signer`` member."""
        return {"did": self.did, "publicKeyMultibase": self.public_key.to_multibase()}


def _parse_signer(value: Any) -> EntrySigner:
    pointer = json_pointer("signer")
    if not isinstance(value, dict) or set(value) != {"did", "publicKeyMultibase"}:
        raise _reject(
            ENTRY_INVALID, "Invalid entry", "signer is an object with exactly 'did' and 'publicKeyMultibase'", pointer
        )
    did = value["did"]
    if not isinstance(did, str) or len(did) > 2048 or not _DID_RE.fullmatch(did):
        raise _reject(ENTRY_INVALID, "Invalid entry", "signer.did is not a DID", json_pointer("signer", "did"))
    key_pointer = json_pointer("signer", "publicKeyMultibase")
    multibase = value["publicKeyMultibase"]
    if not isinstance(multibase, str):
        raise _reject(SIGNER_KEY_UNSUPPORTED, "Unsupported signer key", "publicKeyMultibase is a string", key_pointer)
    key = _signer_key(multibase)
    # Key binding. A did:key *is* its key, so the log enforces it; any other DID method is bound by the verifier,
    # which resolves the DID document (vcgate's pipeline, stage 4) — the log only records the claim.
    if did.startswith("did:key:") and did.split(":", 2)[2].split("#", 1)[0] != multibase:
        raise _reject(
            SIGNER_DID_MISMATCH,
            "Signer key does not match its DID",
            "a did:key signer must sign with the key its DID encodes",
            key_pointer,
        )
    return EntrySigner(did, key)


@functools.lru_cache(maxsize=4096)
def _signer_key(multibase: str) -> DecodedPublicKey:
    # Cached: submitters reuse their keys, and base58 decoding plus re-encoding costs as much as a signature check.
    # lru_cache does not cache exceptions, so a refused key is refused every time.
    key_pointer = json_pointer("signer", "publicKeyMultibase")
    try:
        key = public_key_from_multibase(multibase)
    except InputError as exc:
        raise _reject(SIGNER_KEY_UNSUPPORTED, "Unsupported signer key", str(exc), key_pointer) from None
    if key.key_type not in ("Ed25519", "P-256"):
        raise _reject(
            SIGNER_KEY_UNSUPPORTED, "Unsupported signer key", f"{key.key_type} keys are not accepted", key_pointer
        )
    if key.to_multibase() != multibase:
        raise _reject(
            SIGNER_KEY_UNSUPPORTED, "Unsupported signer key", "the key is not in canonical Multikey form", key_pointer
        )
    return key


@functools.lru_cache(maxsize=4096)
def _verifier(key: DecodedPublicKey) -> Callable[[bytes, bytes], bool]:
    if key.key_type == "Ed25519":
        # libsodium (PyNaCl) verifies Ed25519 about twice as fast as OpenSSL through `cryptography` here.
        verify_key = nacl.signing.VerifyKey(key.raw)

        def verify_ed25519(message: bytes, signature: bytes) -> bool:
            try:
                verify_key.verify(message, signature)
            except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
                return False
            return True

        return verify_ed25519
    pub = key.to_cryptography()
    assert isinstance(pub, ec.EllipticCurvePublicKey)

    def verify_p256(message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        try:
            pub.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    return verify_p256


def verify_signature(key: DecodedPublicKey, message: bytes, signature: bytes) -> bool:
    """Ed25519 over ``message``, or ECDSA P-256 / SHA-256 with a raw 64-byte ``r ‖ s`` signature (any S)."""
    if key.key_type not in ("Ed25519", "P-256"):
        return False
    return _verifier(key)(message, signature)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A structurally valid entry whose signature verified against its signer's key.

    Build with :meth:`from_json` / :meth:`from_bytes`; an instance always carries a good signature.
    """

    kind: EntryKind
    record_id: str | None
    supersedes: int | str | None
    signer: EntrySigner
    signature: bytes
    canonical: bytes

    @classmethod
    def from_bytes(cls, data: bytes | str) -> LedgerEntry:
        """Parse JSON text (size limit, strict JSON) and verify the entry."""
        return cls.from_json(parse_json_strict(data))

    @classmethod
    def from_json(cls, unverified_entry: Any) -> LedgerEntry:
        """Validate the shape, then verify the signature over the JCS bytes of the entry without ``signature``."""
        doc = unverified_entry
        if not isinstance(doc, dict):
            raise _reject(ENTRY_INVALID, "Invalid entry", "an entry is a JSON object")
        if "signature" not in doc or "signer" not in doc:
            raise _reject(ENTRY_UNSIGNED, "Unsigned entry", "an entry needs 'signer' and 'signature'")
        kind = doc.get("kind")
        if kind not in ("record", "revocation"):
            raise _reject(ENTRY_INVALID, "Invalid entry", "kind is 'record' or 'revocation'", json_pointer("kind"))
        allowed = _RECORD_MEMBERS if kind == "record" else _REVOCATION_MEMBERS
        for member in doc:
            if member not in allowed:
                raise _reject(
                    ENTRY_INVALID, "Invalid entry", f"member not allowed in a {kind} entry", json_pointer(member)
                )
        record_id: str | None = None
        supersedes: int | str | None = None
        if kind == "record":
            for member in ("recordId", "record"):
                if member not in doc:
                    raise _reject(ENTRY_INVALID, "Invalid entry", f"a record entry needs {member!r}")
            record_id = _check_text(doc["recordId"], json_pointer("recordId"), MAX_RECORD_ID_LENGTH)
            if not isinstance(doc["record"], dict):
                raise _reject(ENTRY_INVALID, "Invalid entry", "record is a JSON object", json_pointer("record"))
        else:
            if "supersedes" not in doc:
                raise _reject(ENTRY_INVALID, "Invalid entry", "a revocation entry needs 'supersedes'")
            target = doc["supersedes"]
            if isinstance(target, bool) or not isinstance(target, int | str):
                raise _reject(
                    ENTRY_INVALID,
                    "Invalid entry",
                    "supersedes is an entry index or a record id",
                    json_pointer("supersedes"),
                )
            if isinstance(target, int) and not 0 <= target < 2**53:
                raise _reject(
                    ENTRY_INVALID, "Invalid entry", "supersedes index out of range", json_pointer("supersedes")
                )
            if isinstance(target, str):
                _check_text(target, json_pointer("supersedes"), MAX_RECORD_ID_LENGTH)
            supersedes = target
            if "reason" in doc:
                _check_text(doc["reason"], json_pointer("reason"), MAX_REASON_LENGTH)
        if "issuedAt" in doc:
            _check_timestamp(doc["issuedAt"], json_pointer("issuedAt"))
        signer = _parse_signer(doc["signer"])
        sig_text = doc["signature"]
        try:
            if not isinstance(sig_text, str):
                raise InputError("not a string")
            signature = b64url_decode(sig_text)
        except InputError:
            raise _reject(
                ENTRY_INVALID, "Invalid entry", "signature is unpadded base64url", json_pointer("signature")
            ) from None
        # RFC 8785 §3.2.3: members sorted by key. The top-level keys are a fixed set of ASCII names, so canonicalising
        # each member once yields both the signed bytes (without "signature") and the full entry's bytes.
        members = {key: canonical_bytes(value) for key, value in doc.items()}
        canonical = _assemble(members, sorted(members))
        if len(canonical) > MAX_ENTRY_SIZE:
            raise _reject(
                ENTRY_TOO_LARGE,
                "Entry too large",
                f"{len(canonical)} canonical bytes; the limit is {MAX_ENTRY_SIZE} bytes",
            )
        unsigned = _assemble(members, sorted(k for k in members if k != "signature"))
        if not verify_signature(signer.public_key, unsigned, signature):
            raise _reject(
                SIGNATURE_INVALID,
                "Bad signature",
                f"the signature does not verify with the {signer.public_key.key_type} key of the signer",
                json_pointer("signature"),
            )
        return cls(kind, record_id, supersedes, signer, signature, canonical)

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (a fresh copy)."""
        result: dict[str, Any] = json.loads(self.canonical)
        return result


def _assemble(members: Mapping[str, bytes], keys: list[str]) -> bytes:
    return b"{" + b",".join(json.dumps(k).encode("ascii") + b":" + members[k] for k in keys) + b"}"


def _check_timestamp(value: Any, pointer: str) -> str:
    if not isinstance(value, str) or not _RFC3339_RE.fullmatch(value):
        raise _reject(ENTRY_INVALID, "Invalid entry", "an RFC 3339 date-time with a time zone", pointer)
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _reject(ENTRY_INVALID, "Invalid entry", "not a valid date-time", pointer) from None
    return value


def unsigned_entry_bytes(unsigned_entry: Mapping[str, Any]) -> bytes:
    """The bytes a submitter signs: the JCS form of the entry without ``signature``."""
    return canonical_bytes({k: v for k, v in unsigned_entry.items() if k != "signature"})


@dataclass(frozen=True, slots=True)
class LogLeaf:
    """What the log hashes into its tree: an accepted entry and the log time it was accepted at."""

    entry: LedgerEntry
    logged_at: str

    def __post_init__(self) -> None:
        _check_timestamp(self.logged_at, json_pointer("loggedAt"))

    def to_json(self) -> dict[str, Any]:
        """``{"entry": ..., "loggedAt": ...}``."""
        return {"entry": self.entry.to_json(), "loggedAt": self.logged_at}

    def to_bytes(self) -> bytes:
        """The JCS leaf bytes (the Merkle leaf input).

        Built directly: RFC 8785 orders ``entry`` before ``loggedAt``, the entry is already canonical, and the
        timestamp is ASCII matching the RFC 3339 pattern, so its JSON string form is its JCS form.
        """
        return b'{"entry":' + self.entry.canonical + b',"loggedAt":' + json.dumps(self.logged_at).encode() + b"}"

    @classmethod
    def from_bytes(cls, data: bytes) -> LogLeaf:
        """Parse leaf bytes strictly: canonical JCS, exactly ``entry`` and ``loggedAt``, a verified entry."""
        try:
            value = parse_json_strict(data, max_size=MAX_ENTRY_SIZE + 256)
        except EntryError as exc:
            raise _reject(LEAF_MALFORMED, "Malformed leaf", exc.problem.detail) from None
        if not isinstance(value, dict) or set(value) != {"entry", "loggedAt"}:
            raise _reject(LEAF_MALFORMED, "Malformed leaf", "a leaf is an object with exactly 'entry' and 'loggedAt'")
        try:
            logged_at = _check_timestamp(value["loggedAt"], json_pointer("loggedAt"))
        except EntryError as exc:
            raise _reject(LEAF_MALFORMED, "Malformed leaf", exc.problem.detail, exc.problem.pointer) from None
        leaf = cls(LedgerEntry.from_json(value["entry"]), logged_at)
        if leaf.to_bytes() != bytes(data):
            raise _reject(LEAF_MALFORMED, "Malformed leaf", "leaf bytes are not in RFC 8785 canonical form")
        return leaf
