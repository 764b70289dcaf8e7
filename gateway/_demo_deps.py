"""What ``vcgate demo`` needs beyond Python packages, found in a source checkout or installed into the user cache.

A source checkout has them in ``tests/node`` (``make demo`` runs scripts/install-demo-deps.sh). A ``pip install``
has no checkout, so on first use the demo installs them with npm into ``<cache>/demo`` (the cache of
:func:`vcgate.conformance_tests._reference_peer.cache_dir`, ``~/.cache/vcgate`` by default): the anvil Ethereum node
from the lock file shipped in ``demo_node/`` (``npm ci``), and the official EAS contract artifacts from the
``@ethereum-attestation-service/eas-contracts`` package (``npm pack``, checked against a pinned SHA-256, the same
pins as the install scripts).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from vcgate.canonical_schema import VcgateError
from vcgate.conformance_tests._reference_peer import cache_dir

__all__ = [
    "EAS_CONTRACTS",
    "DemoDependencyError",
    "demo_cache",
    "install_demo_deps",
    "installed_anvil",
    "installed_eas_artifacts",
]

#: The EAS contracts package and its tarball's SHA-256 (as in scripts/install-demo-deps.sh).
EAS_CONTRACTS = (
    "@ethereum-attestation-service/eas-contracts@1.9.0",
    "9b168dcbeea489418df67ed665b830c7919ae6c8d8c44bbd3694fdcf8bbd6f25",
)
_ARTIFACTS = {
    "EAS.json": "package/artifacts/contracts/EAS.sol/EAS.json",
    "SchemaRegistry.json": "package/artifacts/contracts/SchemaRegistry.sol/SchemaRegistry.json",
}


class DemoDependencyError(VcgateError):
    """anvil or the EAS artifacts are missing and cannot be installed (no npm, npm failed, a changed upload)."""


def demo_cache() -> Path:
    """``<cache>/demo``: where a pip-installed vcgate keeps anvil and the EAS artifacts."""
    return cache_dir() / "demo"


def installed_anvil(root: Path | None = None) -> Path | None:
    """The anvil binary npm installed under ``root`` (default: the demo cache), for this platform."""
    found = sorted((root or demo_cache()).glob("node_modules/@foundry-rs/anvil-*/bin/anvil"))
    return next((p for p in found if os.access(p, os.X_OK)), None)


def installed_eas_artifacts(root: Path | None = None) -> Path | None:
    """The folder holding ``EAS.json`` and ``SchemaRegistry.json`` under ``root``, when both are there."""
    folder = (root or demo_cache()) / "artifacts"
    return folder if all((folder / name).is_file() for name in _ARTIFACTS) else None


def _npm(args: list[str], cwd: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise DemoDependencyError("the demo needs Node.js >= 20 with npm on PATH to install anvil")
    proc = subprocess.run([npm, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DemoDependencyError(f"npm {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")


def install_demo_deps(root: Path | None = None, *, say: Callable[[str], None] = lambda _: None) -> Path:
    """Install anvil and the EAS artifacts under ``root`` (default: the demo cache) unless present; return root."""
    root = root or demo_cache()
    root.mkdir(parents=True, exist_ok=True)
    if installed_anvil(root) is None:
        say(f"installing anvil with npm into {root} (once)")
        shipped = resources.files("vcgate.gateway").joinpath("demo_node")
        for name in ("package.json", "package-lock.json"):
            (root / name).write_bytes(shipped.joinpath(name).read_bytes())
        _npm(["ci", "--no-audit", "--no-fund", "--loglevel=error"], root)
    if installed_eas_artifacts(root) is None:
        say(f"fetching the official EAS contract artifacts into {root / 'artifacts'} (once)")
        package, sha256 = EAS_CONTRACTS
        with tempfile.TemporaryDirectory() as tmp:
            _npm(["pack", "--silent", package], Path(tmp))
            (tarball,) = Path(tmp).glob("*.tgz")
            digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
            if digest != sha256:
                raise DemoDependencyError(f"{package} tarball has SHA-256 {digest}, expected {sha256}")
            (root / "artifacts").mkdir(exist_ok=True)
            with tarfile.open(tarball, "r:gz") as archive:
                for name, member in _ARTIFACTS.items():
                    source = archive.extractfile(member)  # only these two members are read: no path tricks
                    if source is None:
                        raise DemoDependencyError(f"{package} has no {member}")
                    (root / "artifacts" / name).write_bytes(source.read())
    return root
