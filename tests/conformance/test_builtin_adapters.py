"""Every built-in adapter passes the conformance suite.

Built-ins register exactly as third parties do, so this test finds them through the ``vcgate.adapters`` entry
points of the vcgate distribution. Each needs a running ledger and a configuration with a ``conformance:`` section.
When an adapter's configuration exists, move it from ``PENDING`` to ``CONFIGS`` (a factory that receives a temporary
folder, starts what the ledger needs and returns the configuration file) and add, with the first entry::

    @pytest.mark.parametrize("name", sorted(CONFIGS))
    def test_builtin_adapter_passes(name: str, tmp_path: Path) -> None:
        assert_passes_every_adapter_case(run(f"adapter:{name}", CONFIGS[name](tmp_path)))

(``assert_passes_every_adapter_case`` is the check the CSV example passes in test_example_adapters.py.) An adapter in
neither dictionary fails the coverage test below, so none is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import pytest

#: Adapter name -> factory(tmp folder) -> configuration file (with its ledger running until the test ends).
CONFIGS: dict[str, Callable[[Path], Path]] = {}
#: Built-ins whose conformance configuration is still to be written, and where that happens.
PENDING: dict[str, str] = {
    "ethereum": "issue 5: needs an EVM (web3 tester or anvil) with EAS attestations and a checkpoint anchor",
    "fabric": "issue 6: needs the in-process gRPC peer and a channel genesis anchor",
    "plain-ledger": "issue 3: needs a running plain-ledger service and its log key as anchor",
}


def builtin_adapters() -> set[str]:
    """Adapters registered by vcgate's own distribution."""
    return {
        ep.name
        for ep in entry_points(group="vcgate.adapters")
        if ep.dist is not None and ep.dist.metadata["Name"] == "vcgate"
    }


def test_every_builtin_adapter_has_a_conformance_configuration_or_is_pending() -> None:
    registered = builtin_adapters()
    assert registered == set(CONFIGS) | set(PENDING), (
        "add each built-in adapter to CONFIGS (its conformance configuration) or, until then, to PENDING"
    )
    assert not set(CONFIGS) & set(PENDING)


@pytest.mark.parametrize("name", sorted(PENDING))
def test_pending_entries_are_registered(name: str) -> None:
    # A stale PENDING entry (an adapter renamed or removed) would hide nothing, but it would mislead.
    assert name in builtin_adapters()
