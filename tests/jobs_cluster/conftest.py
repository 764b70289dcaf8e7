"""The jobs tests' credential world (one per session), shared with the cluster tests."""

from jobs.conftest import world_and_rows  # noqa: F401 - a pytest fixture, used by name
