"""did:web identifiers to URLs (DID Web method §3.2 "Read", step 1-5); no network."""

from __future__ import annotations

import pytest

from vcgate.gateway import DidResolutionError, did_web_url


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:localhost%3A8443", "https://localhost:8443/.well-known/did.json"),
        ("did:web:example.com:org:acme", "https://example.com/org/acme/did.json"),
        ("did:web:example.com%3A8443:user:alice", "https://example.com:8443/user/alice/did.json"),
    ],
)
def test_did_web_url(did: str, url: str) -> None:
    assert did_web_url(did) == url


def test_unsafe_http_switch_applies_to_localhost_only() -> None:
    assert did_web_url("did:web:localhost%3A8080", allow_http_localhost=True) == (
        "http://localhost:8080/.well-known/did.json"
    )
    assert did_web_url("did:web:example.com", allow_http_localhost=True).startswith("https://")


@pytest.mark.parametrize("did", ["did:web:", "did:web:exa/mple.com", "did:web:user%40evil.com"])
def test_malformed_did_web_is_refused(did: str) -> None:
    with pytest.raises(DidResolutionError) as info:
        did_web_url(did)
    assert info.value.transient is False
