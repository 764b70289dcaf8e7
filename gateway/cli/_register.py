"""``vcgate adapters register``: register a remote adapter with a gateway over its HTTP API (``POST /adapters``).

The descriptor is an ``AdapterRegistrationCredential`` issued by the partner's DID (docs/http-api.md, "Adapters"):
sign it beforehand (``vcgate issue``) or pass ``--key`` to sign it here. The gateway runs the conformance suite
against the endpoint the descriptor names and activates the adapter only if it passes.

Exit codes: 0 registered and active; 1 refused (bad descriptor, not your party, or conformance failed: the failing
case ids are printed); 2 the gateway could not be reached or could not decide; 64 usage.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
import yaml
from rich.console import Console

from vcgate.canonical_schema import VcgateError

from ..verification._keys import KeyPair
from ..verification._proofs import sign
from ._common import require_file, unreadable

EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64

_out = Console(emoji=False, highlight=False, soft_wrap=True)
_err = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)


def _usage(message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(EXIT_USAGE)


def _fail(message: str, code: int) -> NoReturn:
    _err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _read_descriptor(path: Path) -> dict[str, Any]:
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        unreadable(f"--descriptor {path}", exc.strerror)
    except yaml.YAMLError as exc:
        _usage(f"--descriptor {path} is not JSON or YAML: {exc}")
    if not isinstance(value, dict):
        _usage(f"--descriptor {path} must hold one credential (an object)")
    return value


def _access_token(http: httpx.Client, token: str | None, client_id: str | None, client_secret: str | None) -> str:
    if token:
        return token
    if not (client_id and client_secret):
        _usage("give --token, or --client-id and --client-secret (or VCGATE_CLIENT_SECRET)")
    try:
        r = http.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret))
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the gateway: {exc}", EXIT_ERROR)
    if r.status_code != 200:
        _fail(f"the gateway refused the client credentials ({r.status_code}): {r.text[:300]}", EXIT_INVALID)
    return str(r.json()["access_token"])


def register_adapter(
    url: Annotated[str, typer.Option("--url", envvar="VCGATE_GATEWAY_URL", help="The gateway's base URL.")],
    descriptor: Annotated[
        Path, typer.Option("--descriptor", "-d", help="The AdapterRegistrationCredential (JSON or YAML).")
    ],
    token: Annotated[
        str | None, typer.Option("--token", envvar="VCGATE_GATEWAY_TOKEN", help="Gateway access token.")
    ] = None,
    client_id: Annotated[str | None, typer.Option("--client-id", help="OAuth2 client id (instead of --token).")] = None,
    client_secret: Annotated[
        str | None, typer.Option("--client-secret", envvar="VCGATE_CLIENT_SECRET", help="OAuth2 client secret.")
    ] = None,
    adapter_token: Annotated[
        str | None,
        typer.Option(
            "--adapter-token",
            envvar="VCGATE_ADAPTER_TOKEN",
            help="Bearer token of the adapter service, if it wants one.",
        ),
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", "-k", help="Partner key file: sign the descriptor (eddsa-rdfc-2022).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait (conformance runs first).")] = 600,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registration as JSON.")] = False,
) -> None:
    """Register a remote adapter with a gateway: it runs the conformance suite and activates the adapter only if it
    passes. Exit 0 active, 1 refused or failed conformance, 2 gateway unreachable, 64 usage."""
    doc = _read_descriptor(descriptor)
    require_file(key, "key file")
    if key is not None:
        if "proof" in doc:
            _usage("the descriptor is already signed; drop --key")
        try:
            pair = KeyPair.from_file(key)
            doc = sign(doc, pair, suite="eddsa-rdfc-2022", created=datetime.now(UTC))
        except VcgateError as exc:
            _usage(f"cannot sign the descriptor: {exc}")
    elif "proof" not in doc:
        _usage("the descriptor has no proof: sign it (vcgate issue) or pass --key")
    body: dict[str, Any] = {"descriptor": doc}
    if adapter_token:
        body["token"] = adapter_token
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as http:
        access = _access_token(http, token, client_id, client_secret)
        try:
            r = http.post("/adapters", json=body, headers={"Authorization": f"Bearer {access}"})
        except httpx.HTTPError as exc:
            _fail(f"cannot reach the gateway: {exc}", EXIT_ERROR)
    try:
        answer = r.json()
    except ValueError:
        _fail(f"the gateway answered {r.status_code} without JSON", EXIT_ERROR)
    if r.status_code >= 400:
        if as_json:
            sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        code = EXIT_ERROR if r.status_code >= 500 else EXIT_INVALID
        _fail(f"{r.status_code} {answer.get('code')}: {answer.get('detail') or answer.get('title')}", code)
    if as_json:
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    else:
        conformance = answer.get("conformance", {})
        _out.print(f"{answer['id']}: {answer['state']} ({conformance.get('reason')})")
        _out.print(f"report: {url.rstrip('/')}/adapters/{answer['id']}/report")
    raise typer.Exit(EXIT_OK if answer.get("active") else EXIT_INVALID)
