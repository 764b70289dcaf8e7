"""The commodity part of ``vcgate demo``: each scenario of ``examples/commodities`` on real ledgers of two kinds.

Every scenario credential is a record on a plain ledger served by uvicorn on 127.0.0.1, signed by its issuer's
per-run key, or (``ledger: fabric`` / ``ledger: ethereum``) a write on a Fabric channel served by TLS gRPC test
peers or an EAS attestation on anvil; the gateway syncs them with the real adapters (a published mapping per
credential type, partner mode: the issuer's own issuing service signs the translation), then judges every entry with
the scenario's shipped workflow (docs/workflows.md). The verdicts are set against
``examples/commodities/expected.yaml``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from vcgate.canonical_schema import b64url

from ._demo import (
    REPO_ROOT,
    DemoEntry,
    DemoError,
    _Actor,
    _Clock,
    _first_detail,
    _nonce,
    _serve_channel,
    _ServerThread,
    _time,
    _ts,
)
from ._issuing import IssuingService
from ._parties import Binding, ControlProof, Identifier, binding_challenge, check_binding_proof
from ._store import Store
from .verification._keys import KeyPair
from .verification._policy import Policy

COMMODITY_DIR = REPO_ROOT / "examples" / "commodities"
EXAMPLES_DIR = REPO_ROOT / "examples" / "credentials"
#: The scenarios are written as of this day (entries of 2024, credentials valid then): the demo verifies at it.
CHECKED_AT = datetime(2025, 6, 1, tzinfo=UTC)
#: Each party's plain-ledger key is bound from this day: before every scenario record (the oldest is of 2023).
BOUND_FROM = datetime(2015, 1, 1, tzinfo=UTC)
ENTRY_SUMMARY = "CBP7501EntrySummaryCredential"
#: The credential type the demo attests on EAS (vcgate's ``gas-passport`` schema, docs/ethereum.md).
PASSPORT = "NaturalGasProducerEnvironmentalPassportCredential"
#: The Fabric test MSP's certificates are valid from 1 Jan 2025 (vcgate.adapters.fabric.testing).
FABRIC_FROM = datetime(2025, 1, 2, tzinfo=UTC)


def commodity_names(folder: Path | None = None) -> list[str]:
    """The commodity workflows whose scenario the demo runs, in the expected table's order."""
    return list(_expected(folder or COMMODITY_DIR))


def _expected(folder: Path) -> dict[str, dict[str, list[str]]]:
    path = folder / "expected.yaml"
    if not path.is_file():
        raise DemoError(f"{path} is missing; the commodity scenarios ship with vcgate (examples/commodities)")
    data: dict[str, dict[str, list[str]]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _merge(base: Any, over: Any) -> Any:
    # A scenario credential's subject overrides its base example field by field; a listed item overrides the
    # base's first item (an inspection, a line item).
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: _merge(base.get(k), over[k]) if k in over else base[k] for k in {**base, **over}}
    if isinstance(base, list) and isinstance(over, list) and base and isinstance(base[0], dict):
        return [_merge(base[0], o) for o in over]
    return copy.deepcopy(over)


def _dids(value: Any, actors: dict[str, _Actor]) -> Any:
    # "did:party:<id>" in a scenario file stands for that party's per-run DID.
    if isinstance(value, str) and value.startswith("did:party:"):
        return actors[value.removeprefix("did:party:")].did
    if isinstance(value, list):
        return [_dids(v, actors) for v in value]
    if isinstance(value, dict):
        return {k: _dids(v, actors) for k, v in value.items()}
    return value


def _credentials(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's credentials plus one CBP 7501 entry summary per entry when the scenario asks for them."""
    items = list(scenario["credentials"])
    summaries: dict[str, Any] | None = scenario.get("entry_summaries")
    if not summaries:
        return items
    for e in scenario["entries"]:
        day = str(e["entryDate"])[:10]
        subject = {
            "type": ["CBPEntrySummary"],
            "entryNumber": e["entryNumber"],
            "entryDate": day,
            "importerNumber": e["importerOfRecord"],
            "countryOfOrigin": summaries["countryOfOrigin"],
            "descriptionOfMerchandise": summaries["descriptionOfMerchandise"],
        }
        at, valid = f"{day}T06:00:00Z", f"{day}T00:00:00Z"
        item = {"type": ENTRY_SUMMARY, "issuer": summaries["issuer"], "at": at, "validFrom": valid}
        items.append({**item, "ledger": summaries.get("ledger", "plain"), "subject": subject})
    return items


def _mapping(credential_type: str) -> dict[str, Any]:
    """The published mapping of one scenario record type: issuer, validity and subject are the record's own."""
    return {
        "id": f"urn:vcgate:demo:mapping:commodity-{credential_type}",
        "version": "1",
        "credential": {
            "type": ["VerifiableCredential", credential_type],
            "issuer": {"mode": "partner", "id": {"path": "issuer"}},
            "validFrom": {"path": "validFrom", "date": "iso"},
            "validUntil": {"path": "validUntil", "date": "iso", "optional": True},
            "credentialSubject": {"path": "subject"},
        },
    }


class CommodityRun:
    """One commodity scenario: its parties, ledger, store and verdicts. Resources go on ``stack``."""

    def __init__(self, name: str, folder: Path, run_dir: Path, stack: contextlib.ExitStack) -> None:
        path = folder / f"{name}.yaml"
        if not path.is_file():
            raise DemoError(f"{path} is missing; the commodity scenarios ship with vcgate (examples/commodities)")
        self.name = name
        self.scenario: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.run = run_dir / name
        self.run.mkdir(parents=True)
        self.stack = stack
        self.actors: dict[str, _Actor] = {}
        for p in self.scenario["parties"]:
            idents = tuple(Identifier(i["scheme"], str(i["value"])) for i in p.get("identifiers") or [])
            self.actors[p["id"]] = _Actor(p["id"], tuple(p["names"]), idents, ("plain",), KeyPair.generate())
        self.ledger: dict[str, Any] = {}
        self.fabric_items: list[dict[str, Any]] = []
        self.eth_items: list[dict[str, Any]] = []
        self.anchors: dict[str, dict[str, Any]] = {}
        self.gateway = KeyPair.generate("ed25519")

    def _subject(self, item: dict[str, Any]) -> Any:
        """A scenario record's subject: party DIDs filled in, over its base example when it names one."""
        subject = _dids(copy.deepcopy(item["subject"]), self.actors)
        if "base" in item:
            base = json.loads((EXAMPLES_DIR / item["base"]).read_text(encoding="utf-8"))["credentialSubject"]
            subject = _merge(base, subject)
        return subject

    def _bind(
        self, actor: _Actor, binding: Binding | None = None, sign: Callable[[bytes], bytes] | None = None
    ) -> None:
        """Bind a ledger identity (default: the party's plain-ledger key) by a signed challenge, checked as
        `vcgate parties add` checks it."""
        if binding is None:
            match = {"publicKeyMultibase": actor.key.public.to_multibase()}
            binding = Binding("plain-ledger-key", match, BOUND_FROM, ControlProof("signed-challenge", _nonce()))
        signature = (sign or actor.key.sign)(binding_challenge(actor.did, binding))
        proof = ControlProof("signed-challenge", binding.proof.nonce, b64url(signature), binding.proof.certificate)
        bound = Binding(binding.kind, binding.match, BOUND_FROM, proof)
        check = check_binding_proof(actor.party(), bound)
        if check.status != "passed":
            raise DemoError(f"{self.name}: party {actor.id}'s {binding.kind} binding failed its proof of control")
        actor.bindings.append(bound)

    def _bind_fabric(self, actor: _Actor, identity: Any) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificate(identity.certificate_pem)
        fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        match = {"mspId": identity.msp_id, "certificateFingerprint": fingerprint}
        proof = ControlProof("signed-challenge", _nonce(), certificate=identity.certificate_pem.decode("ascii"))
        self._bind(actor, Binding("fabric-msp", match, BOUND_FROM, proof), identity.sign)

    def plain_ledger(self, store: Store) -> None:
        """Record every credential on a served plain ledger and register the adapter that reads it."""
        from vcgate.adapters.plain_ledger import LogKey, PlainLedgerClient, PlainLedgerStore, SubmitterKey, create_app
        from vcgate.adapters.sdk import CredentialMapping

        log_key = LogKey.generate()
        clock = _Clock(datetime(2024, 1, 1, tzinfo=UTC))
        ledger = PlainLedgerStore.create(self.run / "ledger.sqlite", log_key, clock=clock)
        self.stack.callback(ledger.close)
        server = _ServerThread(create_app(ledger), f"vcgate-demo-{self.name}-ledger").start()
        self.stack.callback(server.stop)
        client = PlainLedgerClient(server.url)
        self.stack.callback(client.close)
        mappings: dict[str, str] = {}
        for i, item in enumerate(_credentials(self.scenario)):
            if item.get("ledger") == "fabric":
                self.fabric_items.append(item)
                continue
            if item.get("ledger") == "ethereum":
                self.eth_items.append(item)
                continue
            t = item["type"]
            if t not in mappings:
                (self.run / f"{t}.yaml").write_text(json.dumps(_mapping(t)), encoding="utf-8")
                mappings[t] = f"{t}.yaml"
                store.put_mapping(CredentialMapping.from_file(self.run / mappings[t]))
            subject = self._subject(item)
            issuer = self.actors[item["issuer"]]
            record = {"recordType": t, "issuer": issuer.did, "validFrom": item["validFrom"], "subject": subject}
            if item.get("validUntil"):
                record["validUntil"] = item["validUntil"]
            clock.now = _time(item["at"])
            submitter = SubmitterKey.from_json(issuer.key.to_multikey())
            entry = {"kind": "record", "recordId": f"{t}-{i}", "record": record, "issuedAt": _ts(clock.now)}
            client.append(submitter.sign_entry(entry))
        vkey = log_key.verifier.to_vkey()
        config = {"id": f"{self.name}-ledger", "url": server.url, "logVerifierKey": vkey, "mappings": mappings}
        config["configDir"] = str(self.run)
        store.register_adapter(f"{self.name}-ledger", "plain-ledger", config)
        self.anchors[log_key.ledger_id] = {"kind": "plain", "logVerifierKey": vkey}
        self.ledger = {"ledgerId": log_key.ledger_id, "url": server.url, "entries": ledger.tree_size()}

    def fabric(self, store: Store) -> None:
        """The scenario's Fabric records (``ledger: fabric``) on a two-organisation channel (the scenario's
        ``fabric`` section names them, its channel and chaincode) served by two TLS gRPC test peers; each
        submitting party writes with its own client identity of the first organisation, bound to its DID. The
        fabric adapter is registered to read them."""
        from vcgate.adapters.fabric.testing import TestNetwork, header_hash_of
        from vcgate.adapters.sdk import CredentialMapping

        spec: dict[str, Any] = {"organisations": ["CustomsBrokerMSP", "PortAuthorityMSP"], "chaincode": "entries"}
        spec |= self.scenario.get("fabric") or {}
        orgs = [str(o) for o in spec["organisations"]]
        net = TestNetwork.create(channel=str(spec.get("channel") or f"{self.name}-entries"), org_ids=orgs)
        chaincode = str(spec["chaincode"])
        endorsers = [net.peers[o] for o in orgs]
        submitters = {
            party: net.orgs[orgs[0]].issue("client", f"{party}@{orgs[0].lower()}")
            for party in dict.fromkeys(item["issuer"] for item in self.fabric_items)
        }
        blocks = [net.genesis_block()]
        blocks.append(net.block(1, header_hash_of(blocks[-1]), [net.commit_definition_envelope(chaincode)]))
        mappings: dict[str, str] = {}
        for i, item in enumerate(self.fabric_items):
            t, issuer = item["type"], self.actors[item["issuer"]]
            mappings.setdefault(t, f"{t}.yaml")
            record = {"issuer": issuer.did, "validFrom": item["validFrom"], "subject": self._subject(item)}
            if item.get("validUntil"):
                record["validUntil"] = item["validUntil"]
            data = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
            key = f"record~{t}~{i:04d}"
            # The test MSP's certificates begin on 1 Jan 2025: older records are filed to the channel as a batch then.
            net.clock = max(_time(item["at"]), FABRIC_FROM + timedelta(minutes=i))
            tx = net.endorser_envelope(
                client=submitters[item["issuer"]], endorsers=endorsers, chaincode=chaincode, function="Record",
                args=[key.encode(), data], writes={key: data},
            )  # fmt: skip
            blocks.append(net.block(len(blocks), header_hash_of(blocks[-1]), [bytes(tx)]))
        for t, file in mappings.items():
            (self.run / file).write_text(json.dumps(_mapping(t)), encoding="utf-8")
            store.put_mapping(CredentialMapping.from_file(self.run / file))
        _peers, connection = _serve_channel(self.stack, net, orgs, blocks, self.run / "fabric")
        # Each submitting party's Fabric identity is bound to it by a signed challenge, as `vcgate parties add` checks.
        for party, identity in submitters.items():
            self._bind_fabric(self.actors[party], identity)
        genesis = header_hash_of(blocks[0]).hex()
        self.anchors["fabric:" + genesis[:16]] = {
            "kind": "fabric", "genesisBlockHash": genesis, "minAttestingOrganizations": 2,
        }  # fmt: skip
        config = {
            **connection,
            "id": f"{self.name}-fabric",
            "genesisBlockHash": genesis,
            "mappings": [
                {"mapping": str(self.run / f), "chaincode": chaincode, "keys": f"record~{t}~*"}
                for t, f in mappings.items()
            ],
            "witness": self.gateway.controller,
            "timeout": 10,
        }
        store.register_adapter(f"{self.name}-fabric", "fabric", config)
        self.fabric_ledger = {"ledgerId": "fabric:" + genesis[:16], "channel": net.channel, "blocks": len(blocks)}
        self.fabric_ledger["records"] = len(self.fabric_items)

    def ethereum(self, store: Store) -> None:
        """The scenario's EAS records (``ledger: ethereum``: producer passports under vcgate's ``gas-passport``
        schema) attested by their issuers' own accounts on an anvil node with the official EAS contracts; the
        ethereum adapter is registered to read them (the IPR demo's EAS set-up, docs/demo.md)."""
        from eth_account import Account
        from web3 import HTTPProvider, Web3

        from vcgate.adapters.ethereum import GAS_PASSPORT_SCHEMA, builtin_mapping, encode_attestation_data, schema_uid

        from ._demo import CHAIN_ID, ZERO_ADDRESS, _Anvil, eas_artifacts, find_anvil

        wrong = sorted({i["type"] for i in self.eth_items} - {PASSPORT})
        if wrong:
            raise DemoError(f"{self.name}: no EAS schema for {', '.join(wrong)} (the demo attests {PASSPORT} on EAS)")
        items = sorted(self.eth_items, key=lambda i: _time(i["at"]))
        node = _Anvil(find_anvil(), _time(items[0]["at"]) - timedelta(days=1), self.run / "anvil.log")
        self.stack.callback(node.stop)
        node.wait_ready()
        w3 = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 10}))
        operator = w3.eth.accounts[0]  # anvil's funded dev account deploys the public EAS contracts
        artifacts = eas_artifacts()

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
            registry.functions.register(GAS_PASSPORT_SCHEMA, ZERO_ADDRESS, True).transact({"from": operator})
        )
        schema = schema_uid(GAS_PASSPORT_SCHEMA)
        accounts: dict[str, Any] = {}
        for party in dict.fromkeys(i["issuer"] for i in items):
            accounts[party] = Account.create()
            node.rpc("anvil_setBalance", [accounts[party].address, hex(10**20)])
        for item in items:
            account, subject = accounts[item["issuer"]], self._subject(item)
            values = {
                "passportNumber": subject["passportNumber"],
                "producerDid": subject["producer"]["id"],
                "producerName": subject["producer"].get("legalName", ""),
                "methaneIntensity": subject["methaneIntensity"],
                "validFrom": int(_time(item["validFrom"]).timestamp()),
                "validUntil": int(_time(item["validUntil"]).timestamp()),
            }
            data = encode_attestation_data(GAS_PASSPORT_SCHEMA, values)
            node.rpc("evm_setNextBlockTimestamp", [int(_time(item["at"]).timestamp())])
            call = eas.functions.attest((schema, (ZERO_ADDRESS, 0, True, b"\0" * 32, data, 0)))
            tx = call.build_transaction(
                {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address), "gas": 3_000_000,
                 "chainId": CHAIN_ID}
            )  # fmt: skip
            signed = w3.eth.account.sign_transaction(tx, account.key)
            if w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))["status"] != 1:
                raise DemoError(f"{self.name}: an EAS attestation reverted")
        # Blocks on top, so every record lies below the finality line (2 confirmations, 2 descendant headers).
        last = _time(items[-1]["at"])
        for i in range(1, 5):
            node.rpc("evm_setNextBlockTimestamp", [int((last + timedelta(minutes=i)).timestamp())])
            node.rpc("evm_mine", [])
        head = w3.eth.block_number
        ledger_id = f"eip155:{CHAIN_ID}"
        checkpoints = [{"number": n, "hash": "0x" + bytes(w3.eth.get_block(n)["hash"]).hex()} for n in range(head + 1)]
        self.anchors[ledger_id] = {
            "kind": "ethereum", "checkpoints": checkpoints, "finalityDepth": 2, "easContracts": [eas.address],
        }  # fmt: skip
        for party, account in accounts.items():
            self._bind_ethereum(self.actors[party], account)
        config = {
            "id": f"{self.name}-eas",
            "chainId": CHAIN_ID,
            "rpcUrl": node.url,
            "startBlock": 0,
            "finality": {"confirmations": 2},
            "descendants": 2,
            "signers": {a.address: self.actors[p].did for p, a in accounts.items()},
            "eas": {
                "address": eas.address,
                "attesters": [a.address for a in accounts.values()],
                "schemas": [{"profile": "gas-passport"}],
            },
            "rpc": {"retries": 1, "timeout": 10},
        }
        store.register_adapter(f"{self.name}-eas", "ethereum", config)
        store.put_mapping(builtin_mapping("eas-gas-passport.yaml"))
        self.eth_ledger = {"ledgerId": ledger_id, "url": node.url, "head": head, "records": len(items)}

    def _bind_ethereum(self, actor: _Actor, account: Any) -> None:
        from eth_account import Account
        from eth_account.messages import encode_defunct

        def sign(message: bytes) -> bytes:
            # EIP-191 personal_sign, what a wallet produces for "sign this message".
            return bytes(Account.sign_message(encode_defunct(primitive=message), private_key=account.key).signature)

        proof = ControlProof("signed-challenge", _nonce())
        self._bind(actor, Binding("ethereum-address", {"address": account.address}, BOUND_FROM, proof), sign)

    def policy(self) -> Policy:
        raw: dict[str, Any] = json.loads(json.dumps(dict(Policy.default().raw)))
        raw["name"] = f"cbp-{self.name}-demo"
        raw["trust"] = {
            "anchors": self.anchors,
            "roots_of_authority": self.scenario.get("roots_of_authority", {}),
            "issuer_permissions": {},
            "required_evidence": {},
            "witness_mode": {"accept": False, "witnesses": []},
            "freshness": {"status": 7 * 86400, "revocation": 7 * 86400, "revocation_per_ledger": {}},
            "territory": "US",
        }
        return Policy.from_mapping(raw, source=f"vcgate demo {self.name} policy")

    def verify(self, expected: dict[str, list[str]], say: Callable[[str], None]) -> list[DemoEntry]:
        """Sync the ledger into a fresh store, then run the entries as a job under the scenario's workflow."""
        from ._jobs import InlineExecutor, create_job, default_job_id, job_results, read_entry_file, run_job
        from ._sync import sync
        from .workflows import builtin_workflow
        from .workflows._decide import policy_with_workflow

        store = Store.open(f"sqlite:///{self.run / 'vcgate.sqlite'}")
        self.stack.callback(store.close)
        self.plain_ledger(store)
        for actor in self.actors.values():
            self._bind(actor)
        if self.fabric_items:
            self.fabric(store)
            self.ledger["fabric"] = self.fabric_ledger
        if self.eth_items:
            self.ethereum(store)
            self.ledger["ethereum"] = self.eth_ledger
        for actor in self.actors.values():
            store.put_party(actor.party())
        signers = {a.did: _signer(a.key) for a in self.actors.values()}
        report = sync(
            store, now=CHECKED_AT - timedelta(hours=1), witness_key=self.gateway, partner_signers=signers
        ).to_json()["adapters"]
        errors = {n: c["errors"] for n, c in report.items() if c["errors"]}
        if errors:
            raise DemoError(f"{self.name}: sync failed: {errors}")
        self.ledger["stored"] = sum(c["stored"] for c in report.values())
        say(f"{self.name}: {self.ledger['stored']} credentials synced; running the entries")
        wf = builtin_workflow(self.scenario["workflow"])
        policy = policy_with_workflow(self.policy(), wf)
        data = "".join(json.dumps(e, default=str) + "\n" for e in self.scenario["entries"]).encode()
        rows = read_entry_file(f"{self.name}-entries.jsonl", data, wf)
        job_id = default_job_id(data, policy, CHECKED_AT)
        create_job(
            store, rows, policy, job_id=job_id, checked_at=CHECKED_AT, source=f"examples/commodities/{self.name}"
        )
        run_job(store, job_id, executor=InlineExecutor())
        results = job_results(store, job_id)
        return [_entry(self.name, row.get("result") or {}, expected) for row in results["rows"]]


def _signer(key: KeyPair) -> Callable[[dict[str, Any], datetime], dict[str, Any]]:
    service = IssuingService.for_key(key)

    def sign(doc: dict[str, Any], created: datetime) -> dict[str, Any]:
        return service.issue(doc, created=created)

    return sign


def _entry(workflow: str, result: dict[str, Any], table: dict[str, list[str]]) -> DemoEntry:
    number = str(result.get("entryNumber"))
    verdict, reason, _clause, label = table.get(number) or ["?", "?", "", "(not in the expected table)"]
    lines = result.get("lines") or []
    return DemoEntry(
        entry=number,
        scenario=label,
        verdict=str(result.get("verdict", "undetermined")),
        reasons=tuple(result.get("reasons") or ()),
        clause=str(lines[0]["clause"]) if lines else "",
        expected_verdict=verdict,
        expected_reason=reason,
        detail=_first_detail(lines),
        workflow=workflow,
    )


def run_commodities(
    names: list[str], run_dir: Path, say: Callable[[str], None], folder: Path | None = None
) -> tuple[list[DemoEntry], dict[str, dict[str, Any]]]:
    """Each named commodity scenario on its own ledgers (a plain ledger and a Fabric channel or EAS on anvil): the
    entries (with what the table expects of them) and each scenario's ledgers. Every server, node and store it opens
    is closed before it returns or raises."""
    folder = folder or COMMODITY_DIR
    table = _expected(folder)
    entries: list[DemoEntry] = []
    ledgers: dict[str, dict[str, Any]] = {}
    for name in names:
        if name not in table:
            raise DemoError(f"no commodity scenario for workflow {name!r} (have: {', '.join(table)})")
        with contextlib.ExitStack() as stack:
            run = CommodityRun(name, folder, run_dir, stack)
            entries += run.verify(table[name], say)
            ledgers[name] = run.ledger
    return entries, ledgers
