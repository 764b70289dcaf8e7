"""``vcgate demo``: the IPR scenario across three real ledgers (README's main command; issue 7, item 6).

The demo builds a world on embedded defaults and runs CBP's job over it, exactly as a deployment would:

* **ledgers** — a plain ledger (GS1 US's registry log, served by uvicorn on 127.0.0.1 in a thread) holding GS1 GTIN
  licences and IPR recordations; an **anvil** node (the npm-installed binary, a subprocess on 127.0.0.1) with the
  official EAS contracts, on which the brand owner attests its licences (one later revoked with EAS ``revoke``); the
  manufacturer's **Fabric** channel (blocks built and signed by a test MSP) served by two in-process TLS gRPC peers,
  holding product records and commercial invoices;
* **parties** — keys generated per run; every ledger identity (plain-ledger key, Ethereum account, Fabric
  certificate) bound to its party by a signed challenge that is checked before the party is registered;
* **sync** — each ledger read through its SDK adapter (entry points ``plain-ledger``, ``ethereum``, ``fabric``),
  translated by published mappings and signed: partner mode by the partner's own issuing service, witness mode by
  the gateway (:func:`vcgate.gateway.sync`);
* **job** — the entries of ``examples/ipr_three_ledgers/entries.jsonl`` (no scenario labels) verified under a trust
  policy that pins the three ledgers' anchors and names the roots of authority; the result issued as a signed
  ``VerificationReport`` and rendered as HTML.

The scenario labels (``scenarios.yaml``) are read only after the verdicts exist, to print the comparison column. Every
process and thread the demo starts is stopped by handle or PID when it ends, fails or is interrupted.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from vcgate.canonical_schema import VcgateError, b64url

from ._demo_deps import install_demo_deps, installed_anvil, installed_eas_artifacts
from ._issuing import IssuingService
from ._jobs import InlineExecutor, create_job, default_job_id, job_results, read_entry_file, run_job, sync
from ._parties import Binding, ControlProof, Identifier, Party, binding_challenge, check_binding_proof
from ._reports import build_report, render_html, sign_report
from ._store import Store
from .cli._common import fitted_table
from .verification._keys import KeyPair
from .verification._policy import Policy
from .verification._status import StatusList

#: Where the repository keeps what the demo needs (a source checkout; `make demo` installs the npm parts).
REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = REPO_ROOT / "examples" / "ipr_three_ledgers"
ANVIL_IN_REPO = REPO_ROOT / "tests" / "node" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
EAS_ARTIFACTS = REPO_ROOT / "tests" / "node" / "artifacts"
INSTALL_HINT = (
    "install Node.js >= 20 with npm (the demo then installs anvil into the user cache), or run `make demo` in the "
    "repository checkout"
)

CHAIN_ID = 31337
STATUS_LIST_URL = "https://gs1us.example.org/credentials/status/1"
ZERO_ADDRESS = "0x" + "00" * 20
BINDINGS_FROM = datetime(2024, 1, 1, tzinfo=UTC)
EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report an interrupted command


class DemoError(VcgateError):
    """The demo cannot set up its world (a missing install step, a ledger that did not start)."""


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _time(value: Any) -> datetime:
    text = str(value)
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class DemoEntry:
    """One entry's verdict next to what its scenario expects."""

    entry: str
    scenario: str
    verdict: str
    reasons: tuple[str, ...]
    clause: str
    expected_verdict: str
    expected_reason: str
    detail: str = ""
    #: The workflow that judged the entry (docs/workflows.md).
    workflow: str = "ipr"

    @property
    def ok(self) -> bool:
        """The right verdict for the right reason (the first reason is the expected one)."""
        return self.verdict == self.expected_verdict and self.reasons[:1] == (self.expected_reason,)

    def to_json(self) -> dict[str, Any]:
        """``{entry, workflow, scenario, verdict, reasons, clause, expected, ok}``."""
        return {
            "entry": self.entry,
            "workflow": self.workflow,
            "scenario": self.scenario,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "clause": self.clause,
            "detail": self.detail,
            "expected": {"verdict": self.expected_verdict, "reason": self.expected_reason},
            "ok": self.ok,
        }


@dataclass(frozen=True)
class DemoResult:
    """What a demo run produced: verdicts, the report files, the ledgers it used and how long each stage took."""

    entries: tuple[DemoEntry, ...]
    workdir: Path
    #: The IPR run's signed report and its HTML rendering (None when the IPR workflow was not run).
    report_json: Path | None
    report_html: Path | None
    ledgers: Mapping[str, Mapping[str, Any]]
    sync: Mapping[str, Any]
    timings: Mapping[str, float]
    kept: bool
    #: Each commodity scenario's plain ledger (ledgerId, url, entries, stored), by workflow.
    commodities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def workflows(self) -> list[str]:
        """The workflows that judged entries, in run order."""
        return list(dict.fromkeys(e.workflow for e in self.entries))

    @property
    def ok(self) -> bool:
        """Every entry got its expected verdict and reason."""
        return all(e.ok for e in self.entries)

    def to_json(self) -> dict[str, Any]:
        """The ``vcgate demo --json`` document."""
        return {
            "entries": [e.to_json() for e in self.entries],
            "ok": self.ok,
            "workflows": self.workflows,
            "report": None
            if self.report_json is None
            else {"json": str(self.report_json), "html": str(self.report_html)},
            "workdir": str(self.workdir),
            "kept": self.kept,
            "ledgers": {k: dict(v) for k, v in self.ledgers.items()},
            "sync": dict(self.sync),
            "commodityLedgers": {k: dict(v) for k, v in self.commodities.items()},
            "seconds": {k: round(v, 3) for k, v in self.timings.items()},
        }


# ---------------------------------------------------------------------------------------------------------------
# Processes and threads the demo starts (each stopped by its own handle)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _free_port() -> int:
    with _free_socket() as sock:
        return int(sock.getsockname()[1])


class _ServerThread:
    """An ASGI app served by uvicorn in a thread on a free 127.0.0.1 port; :meth:`stop` ends it."""

    def __init__(self, app: Any, name: str) -> None:
        import uvicorn

        self._sock = _free_socket()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, name=name)
        self._thread.daemon = True  # a last resort: stop() is always called first

    def start(self) -> _ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise DemoError(f"the plain-ledger server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()


def find_anvil() -> Path:
    """The anvil binary: ``$VCGATE_ANVIL``, the npm install in tests/node, or ``anvil`` on the PATH."""
    env = os.environ.get("VCGATE_ANVIL")
    candidates = [Path(env)] if env else []
    candidates.append(ANVIL_IN_REPO)
    on_path = shutil.which("anvil")
    if on_path:
        candidates.append(Path(on_path))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    # Outside a source checkout (pip install): anvil lives in the user cache, installed there on first use.
    try:
        anvil = installed_anvil(install_demo_deps(say=_say))
    except VcgateError as exc:
        raise DemoError(f"anvil (the Ethereum node the demo runs) is not installed: {exc}; {INSTALL_HINT}") from None
    if anvil is None:
        raise DemoError(f"anvil (the Ethereum node the demo runs) is not installed: {INSTALL_HINT}")
    return anvil


def eas_artifacts() -> Path:
    """The official EAS contract artifacts: the checkout's tests/node/artifacts, else the user cache (installed)."""
    if all((EAS_ARTIFACTS / f"{name}.json").is_file() for name in ("EAS", "SchemaRegistry")):
        return EAS_ARTIFACTS
    try:
        folder = installed_eas_artifacts(install_demo_deps(say=_say))
    except VcgateError as exc:
        raise DemoError(f"the official EAS contract artifacts are missing: {exc}; {INSTALL_HINT}") from None
    if folder is None:
        raise DemoError(f"the official EAS contract artifacts are missing ({EAS_ARTIFACTS}): {INSTALL_HINT}")
    return folder


def _say(message: str) -> None:
    Console(stderr=True, emoji=False, highlight=False).print(message, markup=False)


class _Anvil:
    """An anvil subprocess on a free 127.0.0.1 port, started with a genesis timestamp; stopped by its PID."""

    def __init__(self, binary: Path, genesis_time: datetime, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        # A file, not a pipe: a chatty node must never block on a full pipe nobody reads.
        with log.open("wb") as err:
            self.process = subprocess.Popen(
                [
                    str(binary),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--chain-id",
                    str(CHAIN_ID),
                    "--timestamp",
                    str(int(genesis_time.timestamp())),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.log.read_text(errors="replace") if self.log.is_file() else ""
                raise DemoError(f"anvil exited with status {self.process.returncode}: {stderr.strip()[:500]}")
            try:
                body = httpx.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1)
                if body.json().get("result"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
        raise DemoError("anvil did not answer eth_chainId within 20 s")

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        import httpx

        body = httpx.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=10
        ).json()
        if "error" in body:
            raise DemoError(f"anvil {method} failed: {body['error']}")
        return body["result"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # by PID: the process we started, nothing else
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


# ---------------------------------------------------------------------------------------------------------------
# The world


@dataclass
class _Actor:
    id: str
    names: tuple[str, ...]
    identifiers: tuple[Identifier, ...]
    ledgers: tuple[str, ...]
    key: KeyPair
    eth_key: str | None = None
    eth_address: str | None = None
    bindings: list[Binding] = field(default_factory=list)

    @property
    def did(self) -> str:
        return self.key.controller

    @property
    def name(self) -> str:
        return self.names[0]

    def party(self) -> Party:
        return Party(self.id, self.did, self.names, self.identifiers, tuple(self.bindings))


class _Clock:
    """The plain ledger's log clock, set from the scenario's times (``loggedAt`` is the ledger time)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _load_scenario(folder: Path) -> dict[str, Any]:
    for name in ("scenario.yaml", "entries.jsonl", "scenarios.yaml"):
        if not (folder / name).is_file():
            raise DemoError(f"{folder / name} is missing; the demo reads its scenario from a source checkout")
    data: dict[str, Any] = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    return data


def _nonce() -> str:
    return base64.urlsafe_b64encode(os.urandom(12)).rstrip(b"=").decode()


class _Demo:
    """Builds the world, syncs, runs the job. Every resource it starts is registered on ``self.stack``."""

    def __init__(self, scenario_dir: Path, run_dir: Path, say: Callable[[str], None]) -> None:
        self.dir = scenario_dir
        self.run = run_dir
        self.say = say
        self.scenario = _load_scenario(scenario_dir)
        self.stack = contextlib.ExitStack()
        self.timings: dict[str, float] = {}
        self.products: dict[str, dict[str, str]] = self.scenario["products"]
        self.actors: dict[str, _Actor] = {}
        self.gateway = KeyPair.generate("ed25519")
        self.anchors: dict[str, dict[str, Any]] = {}
        self.ledgers: dict[str, dict[str, Any]] = {}
        self.ipr_ids: dict[str, str] = {}  # product letter -> IPR credential id (what licences extend)
        self.recordations: dict[str, str] = {}
        self.mappings: list[Any] = []  # every published mapping the adapters use (the store keeps them for replay)
        self.adapter_configs: list[tuple[str, str, dict[str, Any]]] = []
        self.status_list = StatusList.create(STATUS_LIST_URL)

    @contextlib.contextmanager
    def stage(self, name: str, what: str) -> Iterator[None]:
        self.say(what)
        start = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - start

    def close(self) -> None:
        self.stack.close()

    # -- parties ---------------------------------------------------------------------------------------------

    def make_actors(self) -> None:
        from eth_account import Account

        for p in self.scenario["parties"]:
            idents = tuple(Identifier(i["scheme"], str(i["value"])) for i in p.get("identifiers") or [])
            actor = _Actor(p["id"], tuple(p["names"]), idents, tuple(p.get("ledgers") or []), KeyPair.generate())
            if "ethereum" in actor.ledgers:
                account = Account.create()
                actor.eth_key, actor.eth_address = account.key.hex(), account.address
            self.actors[actor.id] = actor

    def _bind(self, actor: _Actor, binding: Binding, sign: Callable[[bytes], bytes]) -> None:
        """Sign the binding challenge with the ledger identity and check it as `vcgate parties add` does."""
        signature = b64url(sign(binding_challenge(actor.did, binding)))
        proof = ControlProof("signed-challenge", binding.proof.nonce, signature, binding.proof.certificate)
        bound = Binding(binding.kind, binding.match, binding.valid_from, proof)
        check = check_binding_proof(actor.party(), bound)
        if check.status != "passed":
            detail = check.problem.detail if check.problem else check.status
            raise DemoError(f"party {actor.id}: the {binding.kind} binding's proof of control failed: {detail}")
        actor.bindings.append(bound)

    def bind_plain(self, actor: _Actor) -> None:
        match = {"publicKeyMultibase": actor.key.public.to_multibase()}
        self._bind(
            actor, Binding("plain-ledger-key", match, BINDINGS_FROM, ControlProof("signed-challenge", _nonce())),
            actor.key.sign,
        )  # fmt: skip

    def bind_ethereum(self, actor: _Actor) -> None:
        from eth_account import Account
        from eth_account.messages import encode_defunct

        assert actor.eth_key is not None
        assert actor.eth_address is not None
        key = actor.eth_key

        def sign(message: bytes) -> bytes:
            # EIP-191 personal_sign, what a wallet produces for "sign this message".
            return bytes(Account.sign_message(encode_defunct(primitive=message), private_key=key).signature)

        match = {"address": actor.eth_address}
        self._bind(
            actor, Binding("ethereum-address", match, BINDINGS_FROM, ControlProof("signed-challenge", _nonce())), sign
        )

    def bind_fabric(self, actor: _Actor, identity: Any) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificate(identity.certificate_pem)
        fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        match = {"mspId": identity.msp_id, "certificateFingerprint": fingerprint}
        proof = ControlProof("signed-challenge", _nonce(), certificate=identity.certificate_pem.decode("ascii"))
        self._bind(actor, Binding("fabric-msp", match, BINDINGS_FROM, proof), identity.sign)

    # -- the plain ledger ------------------------------------------------------------------------------------

    def plain_ledger(self) -> None:
        from vcgate.adapters.plain_ledger import (
            LogKey,
            PlainLedgerClient,
            PlainLedgerStore,
            SubmitterKey,
            bundled_mapping,
            create_app,
        )
        from vcgate.adapters.sdk import CredentialMapping, credential_id

        spec = self.scenario["plain_ledger"]
        log_key = LogKey.generate()
        clock = _Clock(datetime(2025, 1, 1, tzinfo=UTC))
        folder = self.run / "plain-ledger"
        folder.mkdir(parents=True)
        ledger = PlainLedgerStore.create(folder / "ledger.sqlite", log_key, clock=clock)
        self.stack.callback(ledger.close)
        server = _ServerThread(create_app(ledger), "vcgate-demo-plain-ledger").start()
        self.stack.callback(server.stop)
        client = PlainLedgerClient(server.url)
        self.stack.callback(client.close)
        ipr_mapping = CredentialMapping.from_file(self.dir / "mappings" / "ipr-recordation.yaml")
        self.mappings += [bundled_mapping("gs1-identification-key-license"), ipr_mapping]

        def append(signer: str, record: dict[str, Any], record_id: str, at: datetime) -> int:
            clock.now = at
            submitter = SubmitterKey.from_json(self.actors[signer].key.to_multikey())
            entry = submitter.sign_entry(
                {"kind": "record", "recordId": record_id, "record": record, "issuedAt": _ts(at)}
            )
            return int(client.append(entry)["index"])

        gs1 = spec["gs1_licences"]
        licensee = self.actors[gs1["licensee"]]
        at = _time(gs1["at"])
        for i, letter in enumerate(gs1["products"]):
            gtin = self.products[letter]["gtin"]
            record = {
                "recordType": "gs1-identification-key-license",
                "keyType": "GTIN",
                "key": gtin,
                "alternativeKey": gtin[1:],
                "licensee": {"did": licensee.did, "gln": licensee.identifiers[0].value, "name": licensee.name},
                "licensedFrom": gs1["licensedFrom"],
                "status": {"list": STATUS_LIST_URL, "index": 100 + i},
            }
            append("gs1-us", record, f"gs1-gtin-{gtin}", at + timedelta(seconds=i))
        for item in spec["ipr_recordations"]:
            owner = self.actors[item["owner"]]
            product = self.products[item["product"]]
            record = {
                "recordType": "ipr-recordation",
                "recordationNumber": item["recordationNumber"],
                "rightsType": "Trademark",
                "owner": {"did": owner.did, "name": owner.name},
                "product": {"gtin": product["gtin"], "name": product["name"]},
                "recordedOn": _time(item["at"]).date().isoformat(),
            }
            index = append(item["signer"], record, f"ipr-{item['product']}-{item['signer']}", _time(item["at"]))
            # The credential id the adapter will give this record (ledger id, locator, mapping): what licences extend.
            self.ipr_ids[item["product"]] = credential_id(
                log_key.ledger_id, f"entries/{index}", ipr_mapping.id, ipr_mapping.digest
            )
            self.recordations[item["product"]] = item["recordationNumber"]
        vkey = log_key.verifier.to_vkey()
        self.anchors[log_key.ledger_id] = {"kind": "plain", "logVerifierKey": vkey}
        self.adapter_configs.append(
            (
                "gs1-us-registry",
                "plain-ledger",
                {
                    "id": "gs1-us-registry",
                    "url": server.url,
                    "logVerifierKey": vkey,
                    "mappings": {
                        "gs1-identification-key-license": "builtin:gs1-identification-key-license",
                        "ipr-recordation": str(self.dir / "mappings" / "ipr-recordation.yaml"),
                    },
                },
            )
        )
        self.ledgers["plain"] = {"ledgerId": log_key.ledger_id, "url": server.url, "entries": ledger.tree_size()}

    # -- Ethereum --------------------------------------------------------------------------------------------

    def ethereum(self) -> None:
        from web3 import HTTPProvider, Web3

        from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA, builtin_mapping, encode_attestation_data, schema_uid

        spec = self.scenario["ethereum"]
        artifacts = eas_artifacts()
        node = _Anvil(find_anvil(), datetime(2024, 12, 31, tzinfo=UTC), self.run / "anvil.log")
        self.stack.callback(node.stop)
        node.wait_ready()
        w3 = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 10}))
        operator = w3.eth.accounts[0]  # anvil's funded dev account deploys the public EAS contracts

        def deploy(name: str, *args: Any) -> Any:
            artifact = json.loads((artifacts / f"{name}.json").read_text())
            factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
            receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": operator}))
            if receipt["status"] != 1:
                raise DemoError(f"deploying {name} reverted")
            return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

        registry = deploy("SchemaRegistry")
        eas = deploy("EAS", registry.address)
        w3.eth.wait_for_transaction_receipt(
            registry.functions.register(IP_LICENCE_SCHEMA, ZERO_ADDRESS, True).transact({"from": operator})
        )
        schema = schema_uid(IP_LICENCE_SCHEMA)
        for actor in self.actors.values():
            if actor.eth_address:
                node.rpc("anvil_setBalance", [actor.eth_address, hex(10**20)])

        def send(actor: _Actor, call: Any, at: datetime) -> Any:
            # Transactions signed with the party's own (per-run) key: the evidence recovers this sender.
            assert actor.eth_address is not None
            node.rpc("evm_setNextBlockTimestamp", [int(at.timestamp())])
            tx = call.build_transaction(
                {
                    "from": actor.eth_address,
                    "nonce": w3.eth.get_transaction_count(Web3.to_checksum_address(actor.eth_address)),
                    "gas": 3_000_000,
                    "chainId": CHAIN_ID,
                }
            )
            signed = w3.eth.account.sign_transaction(tx, actor.eth_key)
            receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
            if receipt["status"] != 1:
                raise DemoError("an EAS transaction reverted")
            return receipt

        events: list[tuple[datetime, str, dict[str, Any]]] = []
        for lic in spec["licences"]:
            events.append((_time(lic["at"]), "attest", lic))
            if lic.get("revokedAt"):
                events.append((_time(lic["revokedAt"]), "revoke", lic))
        uids: dict[str, bytes] = {}
        last = datetime(2025, 1, 1, tzinfo=UTC)
        for at, what, lic in sorted(events, key=lambda e: e[0]):
            attester = self.actors[lic["attester"]]
            if what == "revoke":
                send(attester, eas.functions.revoke((schema, (uids[lic["id"]], 0))), at)
            else:
                licensee = self.actors[lic["licensee"]]
                values = {
                    "licenseId": lic["id"],
                    "ipRightsCredential": self.ipr_ids[lic["ipr"]],
                    "ipRightsType": "Trademark",
                    "recordationNumber": self.recordations[lic["ipr"]],
                    "licenseeDid": licensee.did,
                    "licenseeName": licensee.name,
                    "gtins": [self.products[p]["gtin"] for p in lic["products"]],
                    "territories": list(spec["territories"]),
                    "termStart": int(_time(lic["termStart"]).timestamp()),
                    "termEnd": int(_time(lic["termEnd"]).timestamp()),
                    "conditions": spec["conditions"],
                }
                data = encode_attestation_data(IP_LICENCE_SCHEMA, values)
                receipt = send(
                    attester, eas.functions.attest((schema, (ZERO_ADDRESS, 0, True, b"\0" * 32, data, 0))), at
                )
                uids[lic["id"]] = bytes(eas.events.Attested().process_receipt(receipt)[0]["args"]["uid"])
            last = at
        # Blocks on top, so every record lies below the finality line (2 confirmations, 2 descendant headers).
        for i in range(1, 5):
            node.rpc("evm_setNextBlockTimestamp", [int((last + timedelta(minutes=i)).timestamp())])
            node.rpc("evm_mine", [])
        head = w3.eth.block_number
        ledger_id = f"eip155:{CHAIN_ID}"
        # The policy pins the chain's block hashes as trusted checkpoints (as an operator pins finalized blocks).
        checkpoints = [{"number": n, "hash": "0x" + bytes(w3.eth.get_block(n)["hash"]).hex()} for n in range(head + 1)]
        self.anchors[ledger_id] = {
            "kind": "ethereum",
            "checkpoints": checkpoints,
            "finalityDepth": 2,
            "easContracts": [eas.address],
        }
        attesters = [a for a in self.actors.values() if a.eth_address]
        self.adapter_configs.append(
            (
                "brand-licences-eas",
                "ethereum",
                {
                    "id": "brand-licences-eas",
                    "chainId": CHAIN_ID,
                    "rpcUrl": node.url,
                    "startBlock": 0,
                    "finality": {"confirmations": 2},
                    "descendants": 2,
                    "signers": {a.eth_address: a.did for a in attesters},
                    "eas": {
                        "address": eas.address,
                        "attesters": [a.eth_address for a in attesters],
                        "schemas": [{"profile": "ip-licence"}],
                    },
                    "rpc": {"retries": 1, "timeout": 10},
                },
            )
        )
        self.mappings.append(builtin_mapping("eas-ip-licence.yaml"))
        self.ledgers["ethereum"] = {"ledgerId": ledger_id, "url": node.url, "pid": node.process.pid, "head": head}

    # -- Fabric ----------------------------------------------------------------------------------------------

    def fabric(self) -> None:
        from vcgate.adapters.fabric import builtin_mapping as fabric_mapping
        from vcgate.adapters.fabric.testing import TestNetwork, header_hash_of
        from vcgate.adapters.sdk import CredentialMapping

        spec = self.scenario["fabric"]
        orgs = list(spec["organisations"])
        net = TestNetwork.create(channel=spec["channel"], org_ids=orgs)
        chaincode = spec["chaincode"]
        submitter = net.clients[orgs[0]]
        endorsers = [net.peers[o] for o in orgs]
        blocks = [net.genesis_block()]
        blocks.append(net.block(1, header_hash_of(blocks[-1]), [net.commit_definition_envelope(chaincode)]))

        def write(function: str, key: str, value: dict[str, Any]) -> bytes:
            data = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
            return bytes(
                net.endorser_envelope(
                    client=submitter,
                    endorsers=endorsers,
                    chaincode=chaincode,
                    function=function,
                    args=[key.encode(), data],
                    writes={key: data},
                )
            )

        maker = self.actors[spec["submitter"]]
        net.clock = _time(spec["products"]["at"])
        products = [
            write(
                "RegisterProduct",
                f"product~{self.products[p]['gtin']}",
                {
                    "gtin": self.products[p]["gtin"],
                    "name": self.products[p]["name"],
                    "sku": f"SKU-{self.products[p]['gtin'][-6:]}",
                    "countryOfOrigin": spec["invoices"]["originCountry"],
                    "manufacturer": {"name": maker.name, "did": maker.did},
                },
            )
            for p in spec["products"]["items"]
        ]
        blocks.append(net.block(2, header_hash_of(blocks[-1]), products))
        inv = spec["invoices"]
        net.clock = _time(inv["at"])
        seller = self.actors[inv["seller"]]
        invoices = []
        for item in inv["items"]:
            buyer = self.actors[item["buyer"]]
            value = {
                "invoiceNumber": item["number"],
                "invoiceDate": _time(inv["at"]).date().isoformat(),
                "originCountry": inv["originCountry"],
                "destinationCountry": "US",
                "seller": {"did": seller.did, "name": seller.name},
                "buyer": {"did": buyer.did, "name": buyer.name},
                "lines": [
                    {
                        "gtin": self.products[ln["product"]]["gtin"],
                        "productName": self.products[ln["product"]]["name"],
                        "description": self.products[ln["product"]]["name"],
                        "itemCount": ln["itemCount"],
                        "countryOfOrigin": inv["originCountry"],
                    }
                    for ln in item["lines"]
                ],
                # FOB unit price of the example (USD 46 a garment): the schema requires the amount due.
                "total": 46 * sum(int(ln["itemCount"]) for ln in item["lines"]),
                "currency": "USD",
            }
            invoices.append(write("IssueInvoice", f"invoice~{item['number']}", value))
        blocks.append(net.block(3, header_hash_of(blocks[-1]), invoices))

        peers, connection = _serve_channel(self.stack, net, orgs, blocks, self.run / "fabric")
        self.bind_fabric(maker, submitter)
        genesis = header_hash_of(blocks[0]).hex()
        ledger_id = "fabric:" + genesis[:16]
        self.anchors[ledger_id] = {"kind": "fabric", "genesisBlockHash": genesis, "minAttestingOrganizations": 2}
        invoice_mapping = self.dir / "mappings" / "fabric-commercial-invoice.yaml"
        self.adapter_configs.append(
            (
                "manufacturer-fabric",
                "fabric",
                {
                    **connection,
                    "id": "manufacturer-fabric",
                    "genesisBlockHash": genesis,
                    "mappings": [
                        {"mapping": "product-registration", "chaincode": chaincode, "keys": "product~*"},
                        {"mapping": str(invoice_mapping), "chaincode": chaincode, "keys": "invoice~*"},
                    ],
                    "witness": self.gateway.controller,
                    "timeout": 10,
                },
            )
        )
        self.mappings += [fabric_mapping("product-registration"), CredentialMapping.from_file(invoice_mapping)]
        self.ledgers["fabric"] = {
            "ledgerId": ledger_id,
            "channel": net.channel,
            "peers": [p.address for p in peers],
            "blocks": len(blocks),
        }

    # -- the gateway: parties, adapters, sync ----------------------------------------------------------------

    def policy(self) -> Policy:
        raw: dict[str, Any] = json.loads(json.dumps(dict(Policy.default().raw)))
        raw["name"] = "cbp-ipr-demo"
        raw["trust"] = {
            "anchors": self.anchors,
            "roots_of_authority": {"gtin_ownership": ["gs1-us"], "ipr_ownership": ["cbp-iprr"]},
            "issuer_permissions": {
                "GS1IdentificationKeyLicenseCredential": ["gs1-us"],
                "GS1CompanyPrefixLicenseCredential": ["gs1-us"],
            },
            "required_evidence": {
                "IntellectualPropertyRightsCredential": ["plain"],
                "IntellectualPropertyRightsLicenseCredential": ["ethereum"],
                "CommercialInvoiceCredential": ["fabric"],
            },
            "witness_mode": {"accept": True, "witnesses": [self.gateway.controller]},
            "freshness": {"status": 86400, "revocation": 86400, "revocation_per_ledger": {}},
            "territory": "US",
        }
        return Policy.from_mapping(raw, source="vcgate demo policy")

    def partner_signers(self) -> dict[str, Callable[[dict[str, Any], datetime], dict[str, Any]]]:
        """Each partner's issuing service (partner mode), keyed by its DID; the manufacturer's one is compromised."""
        tamper = self.scenario["tampered_invoice"]
        out: dict[str, Callable[[dict[str, Any], datetime], dict[str, Any]]] = {}
        for actor in self.actors.values():
            service = IssuingService.for_key(actor.key)

            def signer(doc: dict[str, Any], created: datetime, service: IssuingService = service) -> dict[str, Any]:
                if _is_invoice(doc, tamper["number"]):
                    doc = _tamper_invoice(doc, int(tamper["itemCount"]))
                return service.issue(doc, created=created)

            out[actor.did] = signer
        return out

    def register(self, store: Store) -> None:
        for actor in self.actors.values():
            if "plain" in actor.ledgers:
                self.bind_plain(actor)
            if "ethereum" in actor.ledgers:
                self.bind_ethereum(actor)
            store.put_party(actor.party())
        for mapping in self.mappings:
            store.put_mapping(mapping)
        for name, plugin, config in self.adapter_configs:
            store.register_adapter(name, plugin, config)

    def publish_status_list(self, store: Store, now: datetime) -> None:
        # GS1 publishes the status list its licences name; the gateway fetched it (sync keeps documents in the store).
        gs1 = self.actors["gs1-us"]
        credential = self.status_list.to_credential(gs1.did, "revocation", datetime(2025, 1, 10, tzinfo=UTC))
        signed = IssuingService.for_key(gs1.key).issue(credential, created=datetime(2025, 1, 10, tzinfo=UTC))
        store.put_document(STATUS_LIST_URL, json.dumps(signed).encode(), fetched_at=now)

    def present_forgery(self, store: Store) -> str:
        """The forged licence a broker presents with an entry: a genuine licence, edited; its proof no longer holds."""
        spec = self.scenario["forged_licence"]
        ids = store.credential_ids([("licence-id", spec["copy_of"])])
        if len(ids) != 1:
            raise DemoError(f"licence {spec['copy_of']} was not synced; cannot build the forged copy")
        doc = copy.deepcopy(dict(store.credentials(ids)[next(iter(ids))].document))
        doc["id"] = f"urn:uuid:{uuid.uuid4()}"
        subject = doc["credentialSubject"]
        subject["licensedProducts"] = [
            {"type": ["Product"], "gtin": self.products[p]["gtin"]} for p in spec["products"]
        ]
        subject["extendsCredential"] = self.ipr_ids[spec["ipr"]]
        subject["recordationNumber"] = self.recordations[spec["ipr"]]
        store.put_credential(doc, source="presented-with-entry")
        return str(doc["id"])


def _is_invoice(doc: Mapping[str, Any], number: str) -> bool:
    subject = doc.get("credentialSubject")
    return "CommercialInvoiceCredential" in (doc.get("type") or []) and (
        isinstance(subject, Mapping) and subject.get("invoiceNumber") == number
    )


def _tamper_invoice(doc: dict[str, Any], count: int) -> dict[str, Any]:
    """Raise every line's quantity in the subject *and* in the evidence's raw record (with a matching record digest):
    the mapping still replays, the signature will hold, only the ledger's endorsed bytes tell otherwise."""
    doc = copy.deepcopy(doc)
    for item in doc["credentialSubject"]["itemsShipped"]:
        item["itemCount"] = count
    evidence = doc["evidence"][0]
    raw = evidence["rawRecord"]
    record = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    for line in record["lines"]:
        line["itemCount"] = count
    data = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
    evidence["rawRecord"] = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    evidence["recordDigest"] = "sha256:" + hashlib.sha256(data).hexdigest()
    return doc


def _serve_channel(
    stack: contextlib.ExitStack, net: Any, orgs: list[str], blocks: list[Any], folder: Path
) -> tuple[list[Any], dict[str, Any]]:
    """One test peer per organisation serving the channel's blocks (stopped with ``stack``), and in ``folder`` what
    the gateway reads them with: its own client identity from the channel's first organisation (MSP directory,
    mutual-TLS pair) and each peer's TLS CA. Returns the peers and the Fabric adapter configuration's connection
    settings (configDir, channel, peers, identity, tls)."""
    from vcgate.adapters.fabric.testing import TestPeer, issue_tls, write_msp_dir

    peers = []
    for org in orgs:
        peer = TestPeer(net, org, blocks).start()
        stack.callback(peer.stop)
        peers.append(peer)
    reader = net.orgs[orgs[0]].issue("client", f"cbp-reader@{orgs[0].lower()}")
    write_msp_dir(reader, folder / "msp")
    client_tls = issue_tls(net.orgs[orgs[0]], "cbp-reader-tls", server=False)
    (folder / "client-tls.pem").write_bytes(client_tls.certificate_pem)
    (folder / "client-tls.key").write_bytes(client_tls.key_pem)
    (folder / "client-tls.key").chmod(0o600)
    for peer in peers:
        (folder / f"{peer.msp_id}-tlsca.pem").write_bytes(peer.tls.ca_pem)
    connection = {
        "configDir": str(folder),
        "channel": net.channel,
        "peers": [{"address": p.address, "tlsRootCert": f"{p.msp_id}-tlsca.pem", "mspId": p.msp_id} for p in peers],
        "identity": {"mspId": orgs[0], "mspDir": "msp"},
        "tls": {"clientCert": "client-tls.pem", "clientKey": "client-tls.key"},
    }
    return peers, connection


def _first_detail(lines: list[dict[str, Any]]) -> str:
    # The first failing (or erroring) reason's detail over the lines: what an analyst reads first.
    for ln in lines:
        for r in ln.get("reasonDetails") or []:
            if r.get("kind") != "pass":
                return f"line {ln['line']}: {r.get('detail', '')}" if len(lines) > 1 else str(r.get("detail", ""))
    return "every step of the chain holds" if lines else ""


def _read_labels(folder: Path) -> dict[str, dict[str, str]]:
    data = yaml.safe_load((folder / "scenarios.yaml").read_text(encoding="utf-8")) or {}
    return {str(k): {kk: str(vv) for kk, vv in v.items()} for k, v in data.items()}


# ---------------------------------------------------------------------------------------------------------------
# The run


def run_demo(
    *,
    workdir: Path | None = None,
    keep: bool = False,
    scenario_dir: Path | None = None,
    say: Callable[[str], None] = lambda _m: None,
    workflows: list[str] | None = None,
) -> DemoResult:
    """Build the world, sync the three ledgers, run the job and write the reports into ``workdir``; then run each
    commodity scenario (examples/commodities) on its own plain ledger. ``workflows`` names the workflows to run
    (default: ``ipr`` and every commodity workflow).

    Without ``keep`` the ledgers, keys and store (``workdir/run``) are deleted at the end and only ``report.json`` and
    ``report.html`` stay. Every process and thread started is stopped before this returns or raises.
    """
    folder = scenario_dir or SCENARIO_DIR
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="vcgate-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run_dir = workdir / "run"
    if run_dir.exists():
        if not (run_dir / ".vcgate-demo").is_file():
            raise DemoError(f"{run_dir} exists and was not made by the demo; choose another --workdir")
        shutil.rmtree(run_dir)
    run_dir.mkdir()
    (run_dir / ".vcgate-demo").write_text("made by `vcgate demo`; removed by the next run\n")
    from ._demo_commodities import commodity_names, run_commodities

    # A --scenario folder is an IPR scenario: with it, only the IPR workflow runs unless workflows are named.
    chosen = workflows or (["ipr"] if scenario_dir is not None else ["ipr", *commodity_names()])
    started = time.perf_counter()
    demo = _Demo(folder, run_dir, say)
    out: list[DemoEntry] = []
    report_json = report_html = None
    sync_summary: dict[str, Any] = {}
    commodity_ledgers: dict[str, dict[str, Any]] = {}
    try:
        if "ipr" in chosen:
            report_json, report_html, sync_summary = _run_ipr(demo, folder, workdir, run_dir, out)
        others = [w for w in chosen if w != "ipr"]
        if others:
            with demo.stage("commodities", f"commodity workflows on their own plain ledgers: {', '.join(others)}"):
                found, commodity_ledgers = run_commodities(others, run_dir / "commodities", say)
                out += found
    finally:
        demo.close()
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    demo.timings["total"] = time.perf_counter() - started
    return DemoResult(
        entries=tuple(out),
        workdir=workdir,
        report_json=report_json,
        report_html=report_html,
        ledgers=demo.ledgers,
        sync=sync_summary,
        timings=demo.timings,
        kept=keep,
        commodities=commodity_ledgers,
    )


def _run_ipr(
    demo: _Demo, folder: Path, workdir: Path, run_dir: Path, out: list[DemoEntry]
) -> tuple[Path, Path, dict[str, Any]]:
    """The IPR scenario across the three ledgers: its entries go to ``out``; returns the report files and sync."""
    with demo.stage("parties", "generating per-run keys for the parties"):
        demo.make_actors()
    with demo.stage("plain_ledger", "plain ledger: GS1 licences and IPR recordations (uvicorn, 127.0.0.1)"):
        demo.plain_ledger()
    with demo.stage("ethereum", "Ethereum: EAS licences on anvil (one revoked with EAS revoke)"):
        demo.ethereum()
    with demo.stage("fabric", "Fabric: product records and invoices, two TLS gRPC peers"):
        demo.fabric()
    store = Store.open(f"sqlite:///{run_dir / 'vcgate.sqlite'}")
    demo.stack.callback(store.close)
    with demo.stage("sync", "gateway: parties registered (proofs of control checked); syncing the three ledgers"):
        demo.register(store)
        now = datetime.now(UTC)
        demo.publish_status_list(store, now)
        report = sync(store, now=now, witness_key=demo.gateway, partner_signers=demo.partner_signers())
        sync_summary = report.to_json()["adapters"]
        errors = {name: c["errors"] for name, c in sync_summary.items() if c["errors"]}
        if errors:
            raise DemoError(f"sync failed: {errors}")
        demo.present_forgery(store)
        if "acme" in demo.actors:  # the brand owner's product pictures, for the product pages (docs/ui.md)
            from .api.pages._demo_media import demo_product_media

            demo_product_media(store, demo.actors["acme"].key, demo.products, at=now)
    policy = demo.policy()
    (run_dir / "policy.yaml").write_text(yaml.safe_dump(dict(policy.raw), sort_keys=False), encoding="utf-8")
    with demo.stage("verify", "verifying the entries (examples/ipr_three_ledgers/entries.jsonl)"):
        entries_file = folder / "entries.jsonl"
        data = entries_file.read_bytes()
        rows = read_entry_file(entries_file.name, data)
        checked_at = datetime.now(UTC)
        job_id = default_job_id(data, policy, checked_at)
        create_job(store, rows, policy, job_id=job_id, checked_at=checked_at, source=str(entries_file))
        run_job(store, job_id, executor=InlineExecutor())
        results = job_results(store, job_id)
    with demo.stage("report", "issuing the signed VerificationReport and its HTML rendering"):
        issued = datetime.now(UTC)
        unsigned = build_report(results["job"], results["rows"], issuer=demo.gateway.controller, issued_at=issued)
        signed = sign_report(unsigned, demo.gateway, created=issued)
        report_json, report_html = workdir / "report.json", workdir / "report.html"
        report_json.write_text(json.dumps(signed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        report_html.write_text(render_html(signed), encoding="utf-8")
        demo.gateway.to_file(run_dir / "gateway-key.json")
    labels = _read_labels(folder)
    for row in results["rows"]:
        result = row.get("result") or {}
        number = str(result.get("entryNumber", f"row {row['row']}"))
        label = labels.get(number, {})
        lines = result.get("lines") or []
        out.append(
            DemoEntry(
                entry=number,
                scenario=label.get("scenario", "(no label)"),
                verdict=str(result.get("verdict", "undetermined")),
                reasons=tuple(result.get("reasons") or ()),
                clause=str(lines[0]["clause"]) if lines else "",
                expected_verdict=label.get("verdict", "?"),
                expected_reason=label.get("reason", "?"),
                detail=_first_detail(lines),
                workflow=str((result.get("workflow") or {}).get("name", "ipr")),
            )
        )
    return report_json, report_html, sync_summary


# ---------------------------------------------------------------------------------------------------------------
# The command

COLOURS = {"authorized": "green", "not_authorized": "red", "undetermined": "yellow"}


def _print_result(result: DemoResult, console: Console) -> None:
    for kind, info in result.ledgers.items():
        where = {
            "plain": lambda i: f"served by uvicorn at {i['url']} ({i['entries']} entries)",
            "ethereum": lambda i: f"anvil at {i['url']} (pid {i['pid']}, head block {i['head']}), EAS contracts",
            "fabric": lambda i: f"channel {i['channel']}, {len(i['peers'])} TLS gRPC peers, {i['blocks']} blocks",
        }[kind](info)
        console.print(f"[bold]{kind}[/] {info['ledgerId']}: {where}")
    for name, counts in result.sync.items():
        console.print(f"synced [bold]{name}[/]: {counts['stored']} credentials, {counts['revocations']} revocations")
    for name, info in result.commodities.items():
        console.print(f"[bold]plain[/] {info['ledgerId']} ({name}): {info['entries']} entries at {info['url']}")
        if "fabric" in info:
            fab = info["fabric"]
            console.print(f"[bold]fabric[/] {fab['ledgerId']} ({name}): {fab['records']} records, 2 TLS gRPC peers")
        if "ethereum" in info:
            eth = info["ethereum"]
            console.print(f"[bold]ethereum[/] {eth['ledgerId']} ({name}): {eth['records']} EAS attestations on anvil")
    kinds = {"fabric": "Fabric", "ethereum": "EAS"}
    for workflow in result.workflows:
        entries = [e for e in result.entries if e.workflow == workflow]
        info = result.commodities.get(workflow, {})
        where = " + ".join(["plain ledger", *(v for k, v in kinds.items() if k in info)])
        title = "Entries verified across three ledgers" if workflow == "ipr" else f"Workflow {workflow} ({where})"
        console.print(_entry_table(entries, title))
    if result.report_json is not None:
        console.print(f"signed VerificationReport: {result.report_json}")
        console.print(f"HTML report:               {result.report_html}")
    if result.kept:
        console.print(f"ledgers, keys, policy and store kept in {result.workdir / 'run'}")
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items() if k != "total")
    console.print(f"finished in {result.timings['total']:.1f} s ({stages})")
    wrong = [e for e in result.entries if not e.ok]
    if wrong:
        console.print(
            f"[bold red]MISMATCH: {len(wrong)} of {len(result.entries)} entries did not get the expected verdict: "
            + "; ".join(f"{e.entry} ({e.scenario}) got {e.verdict} {', '.join(e.reasons)}" for e in wrong)
            + "[/]"
        )
    else:
        console.print(f"[bold green]all {len(result.entries)} entries got the expected verdict for the right reason[/]")


def _entry_table(entries: list[DemoEntry], title: str) -> Any:
    # Fits 80 columns: the entry id and the verdict are never wrapped; the text columns fold, "why" the most.
    rows = []
    for e in entries:
        mark = "[green]✓[/]" if e.ok else "[bold red]✗[/]"
        expected = "" if e.ok else f"\n[bold red]expected {e.expected_verdict} {e.expected_reason}[/]"
        rows.append(
            [
                e.entry,
                f"[{COLOURS.get(e.verdict, 'white')}]{e.verdict}[/]",
                mark,
                f"{', '.join(e.reasons)}\n[dim]{e.clause}[/]",
                f"[dim]{e.scenario}[/]\n{e.detail}{expected}",
            ]
        )
    headers = ("entry", "verdict", "ok", "reasons · decided by", "scenario · why")
    return fitted_table(headers, rows, ids=3, title=title, show_lines=True)


def _serve_pages(result: DemoResult, serve: bool, port: int, console: Console) -> None:
    # The entry pages (docs/ui.md): printed always, served with --serve until Ctrl-C.
    ipr = [e.entry for e in result.entries if e.workflow == "ipr"]
    if not ipr:
        return  # the pages show the IPR run's store
    first = ipr[0]
    url = f"http://127.0.0.1:{port}/ui/entries/{first}"
    if not serve:
        console.print(f"entry pages: {url} (run `vcgate demo --serve` to keep them up)")
        return
    from .api.pages._demo_serve import demo_site, serve_forever

    site = demo_site(result.workdir / "run", port)
    for role, password in site.accounts.values():
        console.print(f"log in as [bold]{role}[/] with password [bold]{password}[/]")
    console.print(f"entry pages: {url}")
    if not serve_forever(site, port, lambda m: console.print(f"[dim]·[/] {m}")):
        Console(stderr=True).print(f"[red]the pages could not be served on 127.0.0.1:{port}[/] (port taken?)")
        raise typer.Exit(EXIT_ERROR)


def demo_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where to write the reports (default: a new temporary folder).")
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the ledgers, keys, policy and store (WORKDIR/run) after the run.")
    ] = False,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            help="A scenario folder laid out like examples/ipr_three_ledgers (default: that folder).",
        ),
    ] = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then keep serving the web pages over the run's store (implies --keep).")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port of the pages with --serve (127.0.0.1).")] = 8765,
    workflow: Annotated[
        list[str] | None,
        typer.Option(
            "--workflow",
            help="Run only this workflow's scenario (repeatable): ipr, steel, natural-gas, timber, food-safety.",
        ),
    ] = None,
) -> None:
    """Run the IPR scenario across three real ledgers (plain ledger, Ethereum/EAS on anvil, Fabric) and verify a dozen
    entries, then each commodity workflow's scenario (examples/commodities) on its own plain ledger; one table per
    workflow. Exit 0 when every entry gets its expected verdict, 1 when one does not, 2 when the demo cannot run, 130
    when interrupted (Ctrl-C, SIGTERM)."""
    console = Console(stderr=as_json, emoji=False, highlight=False, soft_wrap=True)

    def say(message: str) -> None:
        console.print(f"[dim]·[/] {message}")

    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM ends the run like Ctrl-C: the finally clauses stop anvil, the peers and the ledger server.
        def on_term(_signum: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        result = run_demo(workdir=workdir, keep=keep or serve, scenario_dir=scenario, say=say, workflows=workflow)
    except DemoError as exc:
        Console(stderr=True).print(f"[red]demo failed:[/] {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted: anvil, the Fabric peers and the ledger server were stopped")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_result(result, console)
    if not result.ok and as_json:
        Console(stderr=True).print("[bold red]MISMATCH: an entry did not get its expected verdict[/]")
    _serve_pages(result, serve, port, console)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_MISMATCH)
