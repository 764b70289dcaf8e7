"""The customs node: proofs, keys, DIDs, status lists, issuing, verification, and the CLI."""

__all__: list[str] = []
