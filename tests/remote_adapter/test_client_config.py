"""The remote adapter's configuration: checked at ``from_config`` without any I/O, through its entry point."""

from __future__ import annotations

from typing import Any

import pytest

from vcgate.adapters.remote import RemoteAdapter
from vcgate.adapters.sdk import API_VERSION, AdapterConfigError, load_adapter
from vcgate.canonical_schema import VcgateError


def test_registered_as_an_adapter_plugin() -> None:
    plugin = load_adapter("remote")
    assert plugin.factory is RemoteAdapter
    assert plugin.kind == "remote"
    assert plugin.api_version == API_VERSION
    adapter = plugin.create({"url": "http://127.0.0.1:9/", "configDir": "/somewhere"})  # no connection is made
    assert isinstance(adapter, RemoteAdapter)
    assert adapter.url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "'url' is required"),
        ({"url": "ftp://127.0.0.1/"}, "must be an http(s) URL"),
        ({"url": "http://ledger.example.com"}, "plain http to a non-loopback host"),
        ({"url": "https://x.example?a=1"}, "must not have a query"),
        ({"url": "https://x.example", "tokn": "t"}, "settings tokn are unknown"),
        ({"url": "https://x.example", "token": ""}, "'token' must be a non-empty string"),
        ({"url": "https://x.example", "timeout": 0}, "'timeout'"),
        ({"url": "https://x.example", "timeout": True}, "'timeout'"),
        ({"url": "https://x.example", "retries": 11}, "'retries'"),
        ({"url": "https://x.example", "retries": 1.5}, "'retries'"),
        ({"url": "https://x.example", "backoff": -1}, "'backoff'"),
        ({"url": "https://x.example", "unsafeAllowHttp": "yes"}, "'unsafeAllowHttp'"),
    ],
)
def test_bad_configurations_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(AdapterConfigError) as caught:
        RemoteAdapter.from_config(config)
    assert isinstance(caught.value, VcgateError)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "config",
    [
        {"url": "https://ledger.example.com/adapter"},
        {"url": "http://localhost:8470"},
        {"url": "http://[::1]:8470"},
        {"url": "http://127.0.0.2:8470", "token": "t", "timeout": 2.5, "retries": 0, "backoff": 0},
    ],
)
def test_good_configurations(config: dict[str, Any]) -> None:
    RemoteAdapter.from_config(config).close()


def test_plain_http_off_loopback_only_as_an_unsafe_opt_in(caplog: pytest.LogCaptureFixture) -> None:
    RemoteAdapter.from_config({"url": "http://ledger.example.com", "unsafeAllowHttp": True}).close()
    assert "unsafe" in caplog.text
