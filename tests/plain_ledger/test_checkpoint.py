"""C2SP signed notes and checkpoints: the Go sumdb/note known-answer vector, strict parsing, key handling."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.adapters.plain_ledger import (
    Checkpoint,
    CheckpointOriginError,
    LogKey,
    NoteError,
    NoteSigner,
    NoteVerifier,
    SignedNote,
    ed25519_key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
)

from .conftest import VECTORS

GO = json.loads((VECTORS / "sumdb-note.json").read_text())


def test_signing_reproduces_the_go_sumdb_note_vector_byte_for_byte() -> None:
    signer = NoteSigner.from_skey(GO["signer_key"])
    assert signer.sign(GO["text"]) == GO["note"]
    assert signer.verifier().to_vkey() == GO["verifier_key"]
    assert signer.to_skey() == GO["signer_key"]


def test_the_go_vector_opens_with_its_verifier_key() -> None:
    verifier = NoteVerifier.from_vkey(GO["verifier_key"])
    assert verifier.key_id == 0xC74F20A3 == ed25519_key_id("PeterNeumann", verifier.public_key)
    assert open_note(GO["note"], verifier) == GO["text"]
    assert open_note(GO["note"].encode("utf-8"), verifier) == GO["text"]


def test_a_changed_text_fails_against_the_go_vector() -> None:
    verifier = NoteVerifier.from_vkey(GO["verifier_key"])
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO["note"].replace("cryptography", "cryptographY"), verifier)


def test_unknown_signatures_are_ignored_and_a_note_without_the_trusted_one_is_refused() -> None:
    verifier = NoteVerifier.from_vkey(GO["verifier_key"])
    other = NoteSigner.generate("witness.example/w1")
    cosigned = GO["note"] + other.sign(GO["text"]).split("\n\n", 1)[1].split("\n", 1)[0] + "\n"
    # another key's signature line next to the trusted one: ignored, the note still opens
    assert cosigned.count("\u2014") == 2
    assert open_note(cosigned, verifier) == GO["text"]
    # only another key's signature: refused
    with pytest.raises(NoteError, match="no signature by the trusted key"):
        open_note(other.sign(GO["text"]), verifier)
    # same name, different key id (an impostor key): ignored, so refused for lack of a trusted signature
    impostor = NoteSigner.generate("PeterNeumann")
    with pytest.raises(NoteError, match="no signature by the trusted key"):
        open_note(impostor.sign(GO["text"]), verifier)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"),
        ("PeterNeumann+c74f20a3+AhpeYdlSYdFKw4Tl3qyOLLk3mIO9ZuHlh19NLsG6Ti0g", "only Ed25519"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid note key name"),
        ("PeterNeumann+c74f20a3", "has the form"),
        ("PeterNeumann+c74f20a3+not base64!", "not standard base64"),
    ],
)
def test_bad_verifier_keys_are_refused(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        NoteVerifier.from_vkey(vkey)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("text\n", "blank line"),
        ("text\n\n", "em dash"),
        ("text\n\n- PeterNeumann AAAAAAA=\n", "em dash"),
        ("text\n\n\u2014 PeterNeumann x08go/Z\n", "base64"),
        ("text\n\n\u2014 PeterNeumann AAAA\n", "4-byte key ID"),
        ("text\n\n\u2014 PeterNeumann AAAAAAA= extra\n", "signature line"),
        ("te\x01xt\n\n\u2014 PeterNeumann AAAAAAA=\n", "control characters"),
        ("text\n\n\u2014 PeterNeumann AAAAAAA=", "blank line"),
    ],
)
def test_malformed_notes_are_refused(note: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        SignedNote.parse(note)


def test_oversized_and_non_utf8_notes_are_refused() -> None:
    with pytest.raises(NoteError, match="larger than"):
        SignedNote.parse(b"x" * (64 * 1024 + 1))
    with pytest.raises(NoteError, match="UTF-8"):
        SignedNote.parse(b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n")


def test_the_text_ends_at_the_last_blank_line() -> None:
    signer = NoteSigner.generate("example.com/log")
    text = "first\n\nsecond paragraph\n"
    note = signer.sign(text)
    assert SignedNote.parse(note).text == text
    assert open_note(note, signer.verifier()) == text


def test_checkpoint_text_round_trip_and_c2sp_layout() -> None:
    key = LogKey.generate("example.com/behind-the-sofa")
    cp = Checkpoint(
        "example.com/behind-the-sofa", 20852163, base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    )
    assert cp.to_text() == "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    note = sign_checkpoint(cp, key.signer)
    lines = note.split("\n")
    assert lines[3] == ""
    assert lines[4].startswith("\u2014 example.com/behind-the-sofa ")
    blob = base64.b64decode(lines[4].split(" ")[2])
    assert int.from_bytes(blob[:4], "big") == key.verifier.key_id
    assert len(blob) == 4 + 64
    assert open_checkpoint(note, key.verifier) == cp
    assert Checkpoint.from_text(cp.to_text()) == cp


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "leading zeroes"),
        ("origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "decimal"),
        ("origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", "base64"),
        ("origin\n12\nAAAA\n", "32 bytes"),
        ("origin\n12\n", "at least three lines"),
        ("origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "ends in a newline"),
        ("origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n", "extension lines"),
        ("\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "origin"),
    ],
)
def test_malformed_checkpoint_texts_are_refused(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Checkpoint.from_text(text)


def test_a_checkpoint_from_another_origin_is_refused_even_if_signed_by_the_key() -> None:
    key = LogKey.generate("example.com/log-a")
    note = sign_checkpoint(Checkpoint("example.com/log-b", 1, b"\x01" * 32), key.signer)
    with pytest.raises(CheckpointOriginError):
        open_checkpoint(note, key.verifier)


def test_signer_key_strings_round_trip_and_are_checked() -> None:
    signer = NoteSigner.generate("example.com/k")
    assert NoteSigner.from_skey(signer.to_skey()) == signer
    wrong_id = signer.to_skey().replace(f"+{signer.verifier().key_id:08x}+", "+00000000+")
    with pytest.raises(NoteError, match="does not match"):
        NoteSigner.from_skey(wrong_id)
    with pytest.raises(NoteError, match="PRIVATE\\+KEY"):
        NoteSigner.from_skey(signer.verifier().to_vkey())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_note_parsing_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        parsed = SignedNote.parse(text)
    except NoteError:
        return
    assert parsed.signatures
    assert parsed.text.endswith("\n")


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 2**63),
    st.binary(min_size=32, max_size=32),
    st.lists(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20), max_size=3),
)
def test_checkpoint_round_trip_property(size: int, root: bytes, extensions: list[str]) -> None:
    cp = Checkpoint("example.com/log", size, root, tuple(extensions))
    assert Checkpoint.from_text(cp.to_text()) == cp
