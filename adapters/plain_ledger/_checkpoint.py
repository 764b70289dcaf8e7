"""C2SP signed notes and transparency-log checkpoints (pure, no I/O).

* c2sp.org/signed-note: a UTF-8 text ending in a newline, a blank line, then signature lines
  ``— <key name> <base64(key ID (4 bytes, big-endian) ‖ signature)>``. Ed25519 note keys (signature type 0x01) have
  key ID ``SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]``.
* golang.org/x/mod/sumdb/note key strings, read by existing witnesses and tooling: verifier keys
  ``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``, signer keys ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖
  seed)>``.
* c2sp.org/tlog-checkpoint: the note text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` plus optional
  extension lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from vcgate.canonical_schema import InputError

from ._merkle import HASH_SIZE

ED25519_SIGNATURE_TYPE = 0x01
EM_DASH = "\u2014"
MAX_NOTE_SIZE = 64 * 1024
"""Notes larger than this are refused before parsing (the spec asks verifiers to bound note size)."""

_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX_ID_RE = re.compile(r"[0-9a-f]{8}")


class NoteError(InputError):
    """A signed note, checkpoint or note key is malformed, or its signature does not verify."""


class CheckpointOriginError(NoteError):
    """A checkpoint verified, but its origin is not the name of the log key that signed it."""


def _b64decode(text: str, what: str) -> bytes:
    # Standard base64 (RFC 4648 §4) with padding, strictly: no whitespace, no stray characters.
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not standard base64") from None


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_key_name(name: str) -> None:
    # signed-note §Format: key names are non-empty and contain no Unicode spaces and no '+'.
    if not name or "+" in name or any(c.isspace() for c in name) or any(ord(c) < 0x20 for c in name):
        raise NoteError(f"invalid note key name {name!r}: it must be non-empty, without spaces or '+'")


def ed25519_key_id(name: str, public_key: bytes) -> int:
    """signed-note §Ed25519 signatures: ``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]`` as a big-endian uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """An Ed25519 note verifier key: key name, key ID and the 32-byte public key."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a ``<name>+<hex key ID>+<base64(0x01 ‖ key)>`` verifier key; the key ID must match the key."""
        if not isinstance(vkey, str):
            raise NoteError("a note verifier key must be a string")
        parts = vkey.split("+", 2)  # the name has no '+', the base64 part may
        if len(parts) != 3:
            raise NoteError("a note verifier key has the form <name>+<hex key ID>+<base64 key>")
        name, hex_id, b64 = parts
        _check_key_name(name)
        if not _HEX_ID_RE.fullmatch(hex_id):
            raise NoteError("the key ID of a note verifier key is 8 lowercase hex digits")
        data = _b64decode(b64, "the key of a note verifier key")
        if len(data) != 33 or data[0] != ED25519_SIGNATURE_TYPE:
            raise NoteError("only Ed25519 note verifier keys (type 0x01, 32-byte key) are supported")
        verifier = cls(name, int(hex_id, 16), data[1:])
        if ed25519_key_id(name, verifier.public_key) != verifier.key_id:
            raise NoteError("the key ID of the note verifier key does not match its name and key")
        return verifier

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> NoteVerifier:
        """The verifier for an Ed25519 public key under a key name."""
        _check_key_name(name)
        if len(public_key) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")
        return cls(name, ed25519_key_id(name, public_key), public_key)

    def to_vkey(self) -> str:
        """The verifier key string golang.org/x/mod/sumdb/note and C2SP witnesses read."""
        return f"{self.name}+{self.key_id:08x}+{_b64encode(bytes([ED25519_SIGNATURE_TYPE]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature over ``message``."""
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """An Ed25519 note signer key (keeps the 32-byte seed)."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A fresh random Ed25519 note key."""
        _check_key_name(name)
        key = ed25519.Ed25519PrivateKey.generate()
        return cls(name, key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>``; the key ID must match."""
        if not isinstance(skey, str) or not skey.startswith("PRIVATE+KEY+"):
            raise NoteError("a note signer key starts with PRIVATE+KEY+")
        parts = skey[len("PRIVATE+KEY+") :].split("+", 2)
        if len(parts) != 3:
            raise NoteError("a note signer key has the form PRIVATE+KEY+<name>+<hex key ID>+<base64 key>")
        name, hex_id, b64 = parts
        _check_key_name(name)
        if not _HEX_ID_RE.fullmatch(hex_id):
            raise NoteError("the key ID of a note signer key is 8 lowercase hex digits")
        data = _b64decode(b64, "the key of a note signer key")
        if len(data) != 33 or data[0] != ED25519_SIGNATURE_TYPE:
            raise NoteError("only Ed25519 note signer keys (type 0x01, 32-byte seed) are supported")
        signer = cls(name, data[1:])
        if signer.verifier().key_id != int(hex_id, 16):
            raise NoteError("the key ID of the note signer key does not match its name and key")
        return signer

    def _private(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.seed)

    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._private().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def verifier(self) -> NoteVerifier:
        """The matching verifier key."""
        return NoteVerifier.from_public_key(self.name, self.public_key())

    def to_skey(self) -> str:
        """The signer key string (secret: store it 0600)."""
        key_id = self.verifier().key_id
        return f"PRIVATE+KEY+{self.name}+{key_id:08x}+{_b64encode(bytes([ED25519_SIGNATURE_TYPE]) + self.seed)}"

    def sign(self, text: str) -> str:
        """Sign a note text (which must end in a newline); returns the whole signed note."""
        _check_note_text(text)
        signature = self._private().sign(text.encode("utf-8"))
        blob = self.verifier().key_id.to_bytes(4, "big") + signature
        return f"{text}\n{EM_DASH} {self.name} {_b64encode(blob)}\n"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note: key name, key ID, and the signature bytes after the key ID."""

    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class SignedNote:
    """A parsed (not yet verified) signed note: its text and signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, note: str | bytes) -> SignedNote:
        """Split a signed note into text and signatures (signed-note §Format). Does not verify anything."""
        if isinstance(note, bytes):
            if len(note) > MAX_NOTE_SIZE:
                raise NoteError(f"the note is larger than {MAX_NOTE_SIZE} bytes")
            try:
                note = note.decode("utf-8")
            except UnicodeDecodeError:
                raise NoteError("a signed note must be UTF-8") from None
        if not isinstance(note, str):
            raise NoteError("a signed note must be text")
        if len(note.encode("utf-8")) > MAX_NOTE_SIZE:
            raise NoteError(f"the note is larger than {MAX_NOTE_SIZE} bytes")
        if any(ord(c) < 0x20 and c != "\n" for c in note):
            raise NoteError("a signed note must not contain control characters other than newline")
        # The text is separated from the signatures by the *last* blank line.
        split = note.rfind("\n\n")
        if split < 0 or not note.endswith("\n"):
            raise NoteError("a signed note is text, a blank line and signature lines, each ending in a newline")
        text, sig_block = note[: split + 1], note[split + 2 :]
        signatures = []
        for line in sig_block[:-1].split("\n"):
            prefix = EM_DASH + " "
            if not line.startswith(prefix):
                raise NoteError("every signature line starts with an em dash (U+2014) and a space")
            fields = line[len(prefix) :].split(" ")
            if len(fields) != 2:
                raise NoteError("a signature line is '— <key name> <base64 signature>'")
            name, b64 = fields
            _check_key_name(name)
            blob = _b64decode(b64, "a note signature")
            if len(blob) < 5:
                raise NoteError("a note signature is a 4-byte key ID followed by the signature")
            signatures.append(NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:]))
        if not signatures:
            raise NoteError("a signed note has at least one signature line")
        return cls(text, tuple(signatures))


def _check_note_text(text: str) -> None:
    if not text.endswith("\n") or text == "\n":
        raise NoteError("a note text ends in a newline and is not empty")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note text must not contain control characters other than newline")


def open_note(note: str | bytes, verifier: NoteVerifier) -> str:
    """Verify a signed note against one trusted key; return its text.

    signed-note §Signatures: signatures from unknown keys (name *and* ID must match) are ignored; a signature by the
    known key that fails to verify rejects the note; a note with no verified signature by the known key is rejected.
    """
    parsed = SignedNote.parse(note)
    message = parsed.text.encode("utf-8")
    verified = False
    for sig in parsed.signatures:
        if sig.name != verifier.name or sig.key_id != verifier.key_id:
            continue
        if not verifier.verify(message, sig.signature):
            raise NoteError(f"the signature of {verifier.name!r} on the note does not verify")
        verified = True
    if not verified:
        raise NoteError(f"the note carries no signature by the trusted key {verifier.name!r}")
    return parsed.text


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A c2sp.org/tlog-checkpoint note text: origin, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError("a checkpoint origin is a non-empty single line")
        if self.size < 0:
            raise NoteError("a checkpoint tree size is not negative")
        if len(self.root_hash) != HASH_SIZE:
            raise NoteError(f"a checkpoint root hash is {HASH_SIZE} bytes")
        if any(not e or "\n" in e for e in self.extensions):
            raise NoteError("checkpoint extension lines are non-empty single lines")

    def to_text(self) -> str:
        """The note text (ends in a newline)."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly (tlog-checkpoint §Note text)."""
        if not text.endswith("\n"):
            raise NoteError("a checkpoint text ends in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint text has at least three lines: origin, tree size, root hash")
        origin, size_text, root_text, *extensions = lines
        if not _SIZE_RE.fullmatch(size_text):
            raise NoteError("the checkpoint tree size is a decimal number without leading zeroes")
        root = _b64decode(root_text, "the checkpoint root hash")
        if _b64encode(root) != root_text:
            raise NoteError("the checkpoint root hash is not canonical base64")
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The signed checkpoint note (tlog-checkpoint §Signatures: the key name should match the origin)."""
    return signer.sign(checkpoint.to_text())


def open_checkpoint(note: str | bytes, verifier: NoteVerifier) -> Checkpoint:
    """Verify a signed checkpoint against the pinned log key and parse it.

    The origin must equal the log key's name: a log identifies itself by both, and a checkpoint whose origin differs
    from the key name belongs to a different log even if it is signed by the same key.
    """
    checkpoint = Checkpoint.from_text(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise CheckpointOriginError(
            f"the checkpoint origin {checkpoint.origin!r} is not the log key's name {verifier.name!r}"
        )
    return checkpoint
