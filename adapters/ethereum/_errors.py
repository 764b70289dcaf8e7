"""The exceptions of the Ethereum adapter; all derive from :class:`vcgate.canonical_schema.VcgateError`.

Foreign exceptions (httpx, web3, eth-abi, rlp) are converted at the boundary of this package and never reach
callers."""

from __future__ import annotations

from vcgate.canonical_schema import InputError, VcgateError


class EthereumError(VcgateError):
    """Base of the Ethereum adapter's errors."""


class LedgerUnavailableError(EthereumError):
    """The Ethereum node could not be reached or kept refusing service (connection refused, timeout, rate
    limit).

    Callers turn this into an ``error`` result ("could not decide"), never into ``invalid``: nothing is known
    about the record, only about the node.
    """

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(
            f"Ethereum node {endpoint} is unavailable: {reason}; check the endpoint URL and that the node is "
            "running, or configure another endpoint"
        )
        self.endpoint = endpoint
        self.reason = reason


class RpcResponseError(EthereumError):
    """The node answered, but with a JSON-RPC error or a response vcgate cannot use (wrong shape, inconsistent
    data).

    Also an ``error`` for the caller: the node misbehaved or does not support a method, the record was not
    judged."""

    def __init__(self, endpoint: str, method: str, message: str, code: int | None = None) -> None:
        shown = f" (JSON-RPC code {code})" if code is not None else ""
        super().__init__(f"Ethereum node {endpoint} answered {method} with an error{shown}: {message}")
        self.endpoint = endpoint
        self.method = method
        self.code = code


class EvidenceBuildError(EthereumError):
    """Evidence could not be assembled from what the node returned (record not found, data inconsistent)."""


class DidResolutionError(EthereumError):
    """A did:ethr DID could not be resolved. ``code`` is the DID Resolution error name (``invalidDid``,
    ``methodNotSupported``, ``notFound``)."""

    def __init__(self, did: str, code: str, message: str) -> None:
        super().__init__(f"cannot resolve {did!r}: {message}")
        self.did = did
        self.code = code


class EvidenceFormatError(InputError):
    """Evidence JSON is malformed; ``pointer`` is the RFC 6901 pointer of the offending member."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"evidence member {pointer or '/'}: {message}")
        self.pointer = pointer
