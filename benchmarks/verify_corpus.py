"""Verification throughput on corpora of *distinct* credentials, vcgate beside digitalbazaar (vcgate issue 18).

Corpora (every credential different: ids, names, dates, amounts, 1-3 invoice lines, 8 issuers per key type):
``invoice`` - CommercialInvoiceCredential with the Traceability and vcgate contexts (no LedgerEvidence: made-up
evidence reaches no anchor and is never verified, issue 11); ``plain`` - a VC 2.0 credential with only the
credentials/v2 context. Suites: eddsa-rdfc-2022 (Ed25519), ecdsa-rdfc-2019
(P-256), eddsa-jcs-2022 (Ed25519; vcgate only - digitalbazaar's JCS suite is not installed).

Each side runs in a fresh process pinned to the same core (``taskset -c CORE``): vcgate in a worker
subprocess of this script, digitalbazaar's ``@digitalbazaar/vc`` in one Node process (tests/node/vc-bench.mjs)
with the resolved-context cache enlarged ("tuned") and, on a prefix of each corpus, as shipped. Pass 1 is cold
(nothing of that corpus seen before, shapes compiled on the way), later passes warm. Rates are per CPU-second of
the pinned process (``process_time`` / ``process.cpuUsage``), so load from other processes on the machine changes
them less than wall time would; wall rates are printed too. Then vcgate's per-stage µs table (warm, averaged over
the corpus) and the first verification in a fresh process (imports excluded, reported separately).

Run: ``python benchmarks/verify_corpus.py [--count 300] [--passes 3] [--core 1] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tests" / "node"
AT = "2026-06-01T00:00:00Z"
SUITES = {"eddsa-rdfc-2022": "Ed25519", "ecdsa-rdfc-2019": "P-256", "eddsa-jcs-2022": "Ed25519"}
WORDS = ("steel", "rolls", "copper", "wire", "bolts", "flanges", "valves", "pumps", "cable", "bearings", "sheet")
ORGS = ("Maxi Acero", "Generic Motors", "Norte Metals", "Pacific Freight", "Andes Textiles", "Baltic Timber")


def _name(rng: random.Random) -> str:
    return f"{rng.choice(ORGS)} {rng.choice(('SA', 'Ltd', 'GmbH', 'Inc', 'BV'))} {rng.randrange(1000)}"


def _line(rng: random.Random) -> dict[str, Any]:
    unit = rng.choice(("lbs", "kg", "t"))
    return {
        "type": ["TradeLineItem"],
        "product": {
            "type": ["Product"],
            "manufacturer": {"type": ["Organization"], "name": _name(rng)},
            "description": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 9))) + ".",
            "weight": {"type": ["QuantitativeValue"], "unitCode": unit, "value": str(rng.randrange(10, 90000))},
            "gtin": f"{rng.randrange(10**13):014d}",
        },
        "itemCount": rng.randrange(1, 500),
        "grossWeight": {"type": ["QuantitativeValue"], "value": str(rng.randrange(10, 900000)), "unitCode": unit},
    }


def invoice(rng: random.Random, issuer: str, issuer_name: str) -> dict[str, Any]:
    """A distinct CommercialInvoiceCredential (Traceability context) issued by ``issuer``."""
    day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(600_000))
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://w3id.org/traceability/v1",
            "https://w3id.org/vcgate/v1",
        ],
        "id": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "type": ["VerifiableCredential", "CommercialInvoiceCredential"],
        "validFrom": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "issuer": {"type": ["Organization"], "id": issuer, "name": issuer_name},
        "credentialSubject": {
            "type": ["Invoice"],
            "portOfEntry": {"type": ["Place"], "unLocode": rng.choice(("USLGB", "MXVER", "NLRTM", "DEHAM"))},
            "invoiceNumber": f"INV-{rng.randrange(10**7)}",
            "destinationCountry": rng.choice(("MX", "US", "NL", "DE", "BR")),
            "purchaseDate": (day - timedelta(days=rng.randrange(1, 60))).strftime("%Y-%m-%d"),
            "seller": {
                "type": ["Organization"],
                "name": issuer_name,
                "email": f"sales{rng.randrange(999)}@example.net",
                "phoneNumber": f"+1-{rng.randrange(200, 999)}-555-{rng.randrange(10000):04d}",
            },
            "buyer": {
                "type": ["Organization"],
                "id": f"did:web:buyer{rng.randrange(10**6)}.example.com",
                "name": _name(rng),
            },
            "itemsShipped": [_line(rng) for _ in range(rng.randrange(1, 4))],
            "totalPaymentDue": {
                "type": ["PriceSpecification"],
                "price": rng.randrange(100, 10**7),
                "priceCurrency": "USD",
            },
        },
    }


def plain(rng: random.Random, issuer: str, issuer_name: str) -> dict[str, Any]:
    """A distinct VC 2.0 credential using only the credentials/v2 context."""
    day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(600_000))
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "type": ["VerifiableCredential"],
        "name": f"Membership {rng.randrange(10**6)}",
        "description": f"{issuer_name} membership of {_name(rng)}",
        "issuer": issuer,
        "validFrom": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": (day + timedelta(days=365 * 3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {"id": f"did:example:{rng.getrandbits(96):024x}", "name": _name(rng)},
    }


def make_corpus(kind: str, suite: str, count: int, seed: int = 18) -> list[dict[str, Any]]:
    """``count`` distinct signed credentials of ``kind`` (invoice or plain) under ``suite``, from 8 issuers."""
    from vcgate.gateway import KeyPair, sign

    rng = random.Random(f"{seed}:{kind}:{suite}")
    keys = [KeyPair.generate(SUITES[suite]) for _ in range(8)]
    names = [_name(rng) for _ in keys]
    build = invoice if kind == "invoice" else plain
    out = []
    for i in range(count):
        key = keys[i % len(keys)]
        created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**7))
        out.append(sign(build(rng, key.controller, names[i % len(keys)]), key, suite=suite, created=created))
    return out


# --- vcgate worker (a fresh process) -------------------------------------------------------------------------------


def _stage_table(corpus: list[bytes], at: datetime) -> dict[str, float]:
    # warm per-stage CPU µs per credential, each stage timed over the whole corpus
    from vcgate import canonical_schema
    from vcgate.gateway import DidResolver, Policy, Verifier
    from vcgate.gateway.verification._canonical import rdfc, undefined_terms
    from vcgate.gateway.verification._keys import verify_signature
    from vcgate.gateway.verification._proofs import SUITES as SPECS
    from vcgate.gateway.verification._proofs import _b58decode, hash_data, suite_of, verify_proof
    from vcgate.gateway.verification._verify import check_validity, parse_json_strictly

    docs = [json.loads(raw) for raw in corpus]
    resolver = DidResolver.offline()
    verifier = Verifier(Policy.default(), resolver)
    spec = suite_of(docs[0]["proof"])
    assert spec is not None
    key_type = "P-256" if spec.name == "ecdsa-rdfc-2019" else "Ed25519"

    def per(fn: Any) -> float:
        for d in range(len(docs)):
            fn(d)
        start = time.process_time_ns()
        for d in range(len(docs)):
            fn(d)
        return round((time.process_time_ns() - start) / len(docs) / 1000, 1)

    def unsecured(d: int) -> dict[str, Any]:
        return {k: v for k, v in docs[d].items() if k != "proof"}

    def config(d: int) -> dict[str, Any]:
        cfg = {k: v for k, v in docs[d]["proof"].items() if k != "proofValue"}
        cfg.setdefault("@context", docs[d]["@context"])
        return cfg

    table = {
        "strict JSON parse": per(lambda d: parse_json_strictly(corpus[d], max_bytes=10**7, max_depth=64)),
        "data model + schema": per(lambda d: canonical_schema.validate(docs[d])),
    }
    if spec.canonicalization == "jcs":
        table["strict terms (shape cache)"] = per(lambda d: undefined_terms(docs[d]))
        table["hash data (JCS)"] = per(lambda d: hash_data(docs[d], docs[d]["proof"], spec, key_type))
    else:
        table["rdfc document, fast path"] = per(lambda d: rdfc(unsecured(d)))
        table["rdfc proof config, fast path"] = per(lambda d: rdfc(config(d)))
        table["rdfc document, PyLD (reference)"] = per(lambda d: rdfc(unsecured(d), fast=False))
        table["rdfc proof config, PyLD (reference)"] = per(lambda d: rdfc(config(d), fast=False))
        table["hash data (fast)"] = per(lambda d: hash_data(docs[d], docs[d]["proof"], SPECS[spec.name], key_type))
    vms = [resolver.verification_method(d["proof"]["verificationMethod"], "assertionMethod") for d in docs]
    hashes = [hash_data(d, d["proof"], SPECS[spec.name], key_type).combined for d in docs]
    signatures = [_b58decode(d["proof"]["proofValue"][1:]) for d in docs]
    table["multibase decode (proofValue)"] = per(lambda d: _b58decode(docs[d]["proof"]["proofValue"][1:]))
    table["key resolution (did:key, cached)"] = per(
        lambda d: resolver.verification_method(docs[d]["proof"]["verificationMethod"], "assertionMethod")
    )
    table["signature verify"] = per(lambda d: verify_signature(vms[d].public_key, hashes[d], signatures[d]))
    table["proof (hash + DID + signature)"] = per(lambda d: verify_proof(docs[d], resolver, at=at))
    table["validity"] = per(lambda d: check_validity(docs[d], at))
    table["ledger stages (no evidence)"] = per(lambda d: verifier.ledger.run(docs[d], None, checked_at=at))
    table["whole Verifier.check"] = per(lambda d: verifier.check(corpus[d], at=at))
    return table


def worker(path: str, passes: int) -> dict[str, Any]:
    """Time vcgate on the corpora in ``path`` (run in a fresh process by :func:`main`)."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    from vcgate.gateway import DidResolver, Policy, Verifier

    import_s = (time.perf_counter() - t0, time.process_time() - c0)
    data = json.loads(Path(path).read_text())
    at = datetime.fromisoformat(data["now"].replace("Z", "+00:00"))
    verifier = Verifier(Policy.default(), DidResolver.offline())
    out: dict[str, Any] = {"import_ms": round(import_s[0] * 1000, 1), "import_cpu_ms": round(import_s[1] * 1000, 1)}
    for name, creds in data["corpora"].items():
        corpus = [json.dumps(c).encode() for c in creds]
        report: dict[str, Any] = {"passes": [], "first_ms": None}
        for _ in range(passes):
            verified = 0
            c0, w0 = time.process_time(), time.perf_counter()
            for raw in corpus:
                t = time.perf_counter()
                verified += verifier.check(raw, at=at).verified
                if report["first_ms"] is None:
                    report["first_ms"] = round((time.perf_counter() - t) * 1000, 2)
            report["passes"].append(
                {
                    "n": len(corpus),
                    "verified": verified,
                    "cpu_s": time.process_time() - c0,
                    "wall_s": time.perf_counter() - w0,
                }
            )
        report["stages_us"] = _stage_table(corpus, at)
        out[name] = report
    out["fast_path"] = _stats_dict()
    return out


def _stats_dict() -> dict[str, int]:
    from vcgate.gateway.verification._rdfc_fast import fast_stats

    s = fast_stats()
    return {
        "answered": s.answered,
        "fell_back": s.fell_back,
        "compiled": s.compiled,
        "refused_shapes": s.refused_shapes,
    }


def first_verification(path: str, name: str) -> dict[str, Any]:
    """The first verification in this (fresh) process, after imports and after building the Verifier."""
    c0, t0 = time.process_time(), time.perf_counter()
    from vcgate.gateway import DidResolver, Policy, Verifier

    c1, t1 = time.process_time(), time.perf_counter()
    data = json.loads(Path(path).read_text())
    raw = json.dumps(data["corpora"][name][0]).encode()
    at = datetime.fromisoformat(data["now"].replace("Z", "+00:00"))
    verifier = Verifier(Policy.default(), DidResolver.offline())
    c2, t2 = time.process_time(), time.perf_counter()
    result = verifier.check(raw, at=at)
    c3, t3 = time.process_time(), time.perf_counter()
    verifier.check(raw, at=at)
    c4 = time.process_time()
    return {
        "import_ms": round((t1 - t0) * 1000, 1),
        "import_cpu_ms": round((c1 - c0) * 1000, 1),
        "verifier_cpu_ms": round((c2 - c1) * 1000, 1),
        "first_ms": round((t3 - t2) * 1000, 2),
        "first_cpu_ms": round((c3 - c2) * 1000, 2),
        "second_cpu_ms": round((c4 - c3) * 1000, 2),
        "verified": result.verified,
    }


# --- driver --------------------------------------------------------------------------------------------------------


def _pinned(core: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if shutil.which("taskset") else argv


def _run_json(argv: list[str], timeout: float = 3600) -> Any:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rate(report: dict[str, Any], which: str) -> dict[str, float]:
    passes = report["passes"]
    pick = passes[:1] if which == "cold" else passes[1:] or passes
    n = sum(p["n"] for p in pick)
    return {"cpu": n / sum(p["cpu_s"] for p in pick), "wall": n / sum(p["wall_s"] for p in pick)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300, help="credentials per corpus (default 300)")
    parser.add_argument("--passes", type=int, default=3, help="passes over each corpus; the first is cold")
    parser.add_argument(
        "--core", type=int, default=max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    )
    parser.add_argument("--shipped-limit", type=int, default=20, help="credentials for Node as shipped (slow)")
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--first", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.passes)))
        return
    if args.first:
        path, name = args.first.split("::")
        print(json.dumps(first_verification(path, name)))
        return

    corpora: dict[str, list[dict[str, Any]]] = {}
    for kind in ("invoice", "plain"):
        for suite in SUITES:
            corpora[f"{kind}/{suite}"] = make_corpus(kind, suite, args.count)
    rdfc_corpora = {k: v for k, v in corpora.items() if "jcs" not in k}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        all_file = Path(tmp, "all.json")
        all_file.write_text(json.dumps({"now": AT, "corpora": corpora}))
        node_file = Path(tmp, "node.json")
        node_file.write_text(json.dumps({"now": AT, "corpora": rdfc_corpora}))
        me = [sys.executable, str(Path(__file__).resolve())]
        vcgate = _run_json(_pinned(args.core, [*me, "--worker", str(all_file), "--passes", str(args.passes)]))
        first = {name: _run_json(_pinned(args.core, [*me, "--first", f"{all_file}::{name}"])) for name in corpora}
        node: dict[str, Any] = {}
        if not args.no_node and shutil.which("node"):
            bench = str(NODE_DIR / "vc-bench.mjs")
            node["tuned"] = _run_json(_pinned(args.core, ["node", bench, str(node_file), "--passes", str(args.passes)]))
            node["shipped"] = _run_json(
                _pinned(
                    args.core,
                    [
                        "node",
                        bench,
                        str(node_file),
                        "--cache",
                        "shipped",
                        "--passes",
                        "2",
                        "--limit",
                        str(args.shipped_limit),
                    ],
                )
            )
    results = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, pinned to core {args.core}",
        "python": platform.python_version(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "count": args.count,
        # with PYTHONDONTWRITEBYTECODE every fresh process compiles vcgate's modules from source, which inflates
        # imports and the lazy imports of the first verification (an installed wheel has its bytecode)
        "bytecode_cache": not sys.flags.dont_write_bytecode,
        "vcgate": vcgate,
        "first_verification": first,
        "node": node,
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)


def _print(r: dict[str, Any]) -> None:
    print(f"machine: {r['machine']}; load {r['load_before']} -> {r['load_after']}; {r['count']} credentials per corpus")
    print(f"{'corpus':34} {'vcgate cold':>12} {'vcgate warm':>12} {'node tuned':>11} {'node shipped':>13} {'ratio':>7}")
    for name in (k for k in r["vcgate"] if "/" in k):
        cold, warm = _rate(r["vcgate"][name], "cold"), _rate(r["vcgate"][name], "warm")
        tuned = r["node"].get("tuned", {}).get("corpora", {}).get(name)
        shipped = r["node"].get("shipped", {}).get("corpora", {}).get(name)
        nt = _rate(tuned, "warm")["cpu"] if tuned else None
        ns = _rate(shipped, "warm")["cpu"] if shipped else None
        ratio = f"{warm['cpu'] / nt:6.1f}x" if nt else "    n/a"
        print(
            f"{name:34} {cold['cpu']:10.0f}/s {warm['cpu']:10.0f}/s "
            f"{(f'{nt:9.1f}/s' if nt else '      n/a'):>11} {(f'{ns:11.2f}/s' if ns else '        n/a'):>13} {ratio}"
        )
    print("(rates per CPU-second of the pinned process; wall-clock rates in --json)")
    print(
        "\nfirst verification in a fresh process (after imports and Verifier construction), CPU and wall ms"
        + ("" if r["bytecode_cache"] else " - no bytecode cache (PYTHONDONTWRITEBYTECODE): modules compile")
        + ":"
    )
    for name, f in r["first_verification"].items():
        print(
            f"  {name:34} {f['first_cpu_ms']:7.2f} cpu-ms {f['first_ms']:8.2f} wall-ms; second {f['second_cpu_ms']} "
            f"cpu-ms (imports {f['import_cpu_ms']} cpu-ms, {f['import_ms']} wall-ms; Verifier construction "
            f"{f['verifier_cpu_ms']} cpu-ms; verified={f['verified']})"
        )
    for name, t in r["node"].get("tuned", {}).get("corpora", {}).items():
        print(f"  node tuned {name:23} {t['first_ms']:7.2f} ms")
    print("\nvcgate per-stage CPU µs per credential (warm, averaged over the corpus):")
    names = [k for k in r["vcgate"] if "/" in k]
    stages: list[str] = []
    for n in names:
        stages += [s for s in r["vcgate"][n]["stages_us"] if s not in stages]
    print(f"{'stage':38}" + "".join(f"{n.replace('/', ' ')[:24]:>26}" for n in names))
    for s in stages:
        print(f"{s:38}" + "".join(f"{r['vcgate'][n]['stages_us'].get(s, ''):>26}" for n in names))
    print(f"\nfast path: {r['vcgate'].get('fast_path')}")


if __name__ == "__main__":
    main()
