"""Key files of the plain ledger: the log's checkpoint key and a submitting party's entry-signing key.

Both are JSON files written with mode 0600. Reading and writing them is the only I/O here; signing is pure.

* Log key file (``plain-ledger init``)::

      {"type": "Ed25519", "origin": "<origin>", "ledgerId": "plain:<fingerprint>",
       "noteVerifierKey": "<name>+<hex id>+<base64>", "noteSignerKey": "PRIVATE+KEY+<name>+<hex id>+<base64>"}

* Submitter key file: either the Multikey form ``vcgate keys generate`` writes (the DID is ``controller``)::

      {"type": "Multikey", "id": "did:...#...", "controller": "did:...", "keyType": "Ed25519" | "P-256",
       "publicKeyMultibase": "z...", "secretKeyMultibase": "z..."}

  or the short form ``{"type": "Ed25519" | "P-256", "did": "did:...", "publicKeyMultibase": "z...",
  "secretKeyMultibase": "z..."}``. :meth:`SubmitterKey.save` writes the Multikey form.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from vcgate.canonical_schema import (
    DecodedPublicKey,
    InputError,
    KeyType,
    VcgateError,
    b64url,
    public_key_from_cryptography,
    public_key_from_multibase,
    secret_key_from_multibase,
    secret_key_to_multibase,
)

from ._checkpoint import NoteSigner, NoteVerifier
from ._entries import unsigned_entry_bytes


class KeyFileError(VcgateError):
    """A key file is missing, unreadable or inconsistent."""


def ledger_id_for(public_key: bytes) -> str:
    """``plain:`` + the first 16 hex characters of SHA-256 over the log's raw 32-byte Ed25519 public key."""
    return "plain:" + hashlib.sha256(public_key).hexdigest()[:16]


def default_origin(public_key: bytes) -> str:
    """The origin (and note key name) used when ``init`` is given none: ``vcgate.plain-ledger/<fingerprint>``."""
    return "vcgate.plain-ledger/" + hashlib.sha256(public_key).hexdigest()[:16]


def _write_secret_json(path: Path, value: Mapping[str, Any]) -> None:
    # O_EXCL: never overwrite a key; 0600 from creation, so the secret is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(value, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyFileError(f"cannot read the {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise KeyFileError(f"the {what} {path} is not JSON") from None
    if not isinstance(value, dict):
        raise KeyFileError(f"the {what} {path} must hold a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class LogKey:
    """The log's Ed25519 checkpoint-signing key; its note key name is the log's origin."""

    signer: NoteSigner

    @classmethod
    def generate(cls, origin: str | None = None) -> LogKey:
        """A fresh log key; ``origin`` defaults to :func:`default_origin` of the new key."""
        seed = ed25519.Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        if origin is None:
            origin = default_origin(NoteSigner("x", seed).public_key())
        return cls(NoteSigner(origin, seed))

    @property
    def origin(self) -> str:
        """The checkpoint origin line and note key name."""
        return self.signer.name

    @property
    def verifier(self) -> NoteVerifier:
        """The public note verifier (pin this, or its ``vkey`` string, to check the log)."""
        return self.signer.verifier()

    @property
    def ledger_id(self) -> str:
        """``plain:<fingerprint>``."""
        return ledger_id_for(self.signer.public_key())

    def to_json(self) -> dict[str, str]:
        """The key file content (secret)."""
        return {
            "type": "Ed25519",
            "origin": self.origin,
            "ledgerId": self.ledger_id,
            "noteVerifierKey": self.verifier.to_vkey(),
            "noteSignerKey": self.signer.to_skey(),
        }

    def save(self, path: Path) -> None:
        """Write the key file with mode 0600; refuses to overwrite an existing file."""
        try:
            _write_secret_json(Path(path), self.to_json())
        except FileExistsError:
            raise KeyFileError(f"{path} already exists; refusing to overwrite a log key") from None

    @classmethod
    def load(cls, path: Path) -> LogKey:
        """Read a log key file and check that its public parts match the secret."""
        data = _read_json(Path(path), "log key file")
        try:
            key = cls(NoteSigner.from_skey(str(data.get("noteSignerKey"))))
        except InputError as exc:
            raise KeyFileError(f"the log key file {path} is invalid: {exc}") from None
        if data.get("noteVerifierKey", key.verifier.to_vkey()) != key.verifier.to_vkey():
            raise KeyFileError(f"the log key file {path} has a verifier key that does not match its signer key")
        return key


@dataclass(frozen=True, slots=True)
class SubmitterKey:
    """A submitting party's entry-signing key (Ed25519 or P-256) bound to its DID."""

    key_type: KeyType
    did: str
    public_key: DecodedPublicKey
    secret: bytes

    @classmethod
    def generate(cls, key_type: KeyType = "Ed25519", did: str | None = None) -> SubmitterKey:
        """A fresh key; the DID defaults to the key's did:key."""
        private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if key_type == "Ed25519":
            private = ed25519.Ed25519PrivateKey.generate()
            secret = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        elif key_type == "P-256":
            private = ec.generate_private_key(ec.SECP256R1())
            secret = private.private_numbers().private_value.to_bytes(32, "big")
        else:
            raise InputError(f"entry keys are Ed25519 or P-256, not {key_type}")
        public = public_key_from_cryptography(private.public_key())
        return cls(key_type, did or "did:key:" + public.to_multibase(), public, secret)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SubmitterKey:
        """Parse a key file object (either form in the module docstring); the public key must be the secret's."""
        try:
            key_type, secret = secret_key_from_multibase(str(data.get("secretKeyMultibase")))
            public = public_key_from_multibase(str(data.get("publicKeyMultibase")))
        except InputError as exc:
            raise KeyFileError(f"invalid submitter key: {exc}") from None
        if data.get("type") == "Multikey":
            declared_type, did = data.get("keyType"), data.get("controller")
        else:
            declared_type, did = data.get("type"), data.get("did")
        if key_type not in ("Ed25519", "P-256") or declared_type != key_type or public.key_type != key_type:
            raise KeyFileError("a submitter key is Ed25519 or P-256 and its declared type must match the keys")
        if key_type == "Ed25519" and len(secret) == 64:
            secret = secret[:32]  # seed ‖ public key, as digitalbazaar's libraries export; checked below
        if not isinstance(did, str) or not did.startswith("did:"):
            raise KeyFileError("a submitter key file needs the signer's DID ('did', or 'controller' for Multikey)")
        key = cls(key_type, did, public, secret)
        if public_key_from_cryptography(key._private().public_key()) != public:
            raise KeyFileError("the submitter key's publicKeyMultibase does not belong to its secretKeyMultibase")
        return key

    @classmethod
    def load(cls, path: Path) -> SubmitterKey:
        """Read a submitter key file."""
        return cls.from_json(_read_json(Path(path), "key file"))

    def to_json(self) -> dict[str, str]:
        """The key file content (secret), in the Multikey form ``vcgate keys generate`` writes."""
        multibase = self.public_key.to_multibase()
        return {
            "type": "Multikey",
            "id": f"{self.did}#{multibase}" if self.did.startswith("did:key:") else f"{self.did}#key-1",
            "controller": self.did,
            "keyType": self.key_type,
            "publicKeyMultibase": multibase,
            "secretKeyMultibase": secret_key_to_multibase(self.key_type, self.secret),
        }

    def save(self, path: Path) -> None:
        """Write the key file with mode 0600; refuses to overwrite an existing file."""
        try:
            _write_secret_json(Path(path), self.to_json())
        except FileExistsError:
            raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None

    def _private(self) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
        try:
            if self.key_type == "Ed25519":
                return ed25519.Ed25519PrivateKey.from_private_bytes(self.secret)
            return ec.derive_private_key(int.from_bytes(self.secret, "big"), ec.SECP256R1())
        except ValueError as exc:
            raise KeyFileError(f"invalid {self.key_type} secret key: {exc}") from None

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature, or ECDSA P-256/SHA-256 as raw ``r ‖ s`` (64 bytes)."""
        private = self._private()
        if isinstance(private, ed25519.Ed25519PrivateKey):
            return private.sign(message)
        r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def sign_entry(self, unsigned_entry: Mapping[str, Any]) -> dict[str, Any]:
        """Add ``signer`` and ``signature`` to an unsigned entry (kind, recordId/record or supersedes, ...)."""
        entry = {k: v for k, v in unsigned_entry.items() if k not in ("signer", "signature")}
        entry["signer"] = {"did": self.did, "publicKeyMultibase": self.public_key.to_multibase()}
        entry["signature"] = b64url(self.sign(unsigned_entry_bytes(entry)))
        return entry
