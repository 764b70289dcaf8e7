"""The adapter SDK and vcgate's built-in ledger adapters (plain ledger, Ethereum, Fabric, remote)."""

__all__: list[str] = []
