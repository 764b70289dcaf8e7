"""A small Ethereum JSON-RPC client over httpx: timeouts, retries with exponential backoff, rate-limit
handling.

Everything that goes wrong on the way to the node becomes :class:`LedgerUnavailableError`; a JSON-RPC error
object or an unusable answer becomes :class:`RpcResponseError`. httpx exceptions never leave this module.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from vcgate.canonical_schema import InputError

from ._encoding import hex_quantity, to_hex
from ._errors import LedgerUnavailableError, RpcResponseError

# HTTP statuses worth retrying: rate limiting and transient gateway trouble.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# JSON-RPC error codes providers use for "slow down" (EIP-1474: -32005 limit exceeded; some use 429 in the
# body).
_RATE_LIMIT_CODES = frozenset({-32005, 429})
_MAX_RETRY_AFTER = 30.0


def _redact(url: str) -> str:
    """Scheme, host and port only: provider URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


class JsonRpcClient:
    """A JSON-RPC 2.0 client for one Ethereum endpoint.

    ``retries`` is the number of extra attempts after a failed one (connection error, timeout, HTTP 429/5xx,
    rate-limit error codes); the wait doubles from ``backoff`` seconds up to ``max_backoff``, and a
    ``Retry-After`` header is honoured (capped at 30 s). ``transport`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 4.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.endpoint = _redact(url)
        self._retries = max(0, retries)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout), headers=dict(headers or {}), transport=transport, trust_env=False
        )

    def __enter__(self) -> JsonRpcClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying HTTP connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return f"JsonRpcClient({self.endpoint!r})"

    # -- transport
    # -------------------------------------------------------------------------------------------------

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self._max_backoff, self._backoff * (2**attempt))
        if retry_after is not None:
            # An HTTP-date Retry-After does not parse as seconds: keep our own backoff then.
            with contextlib.suppress(ValueError):
                delay = min(_MAX_RETRY_AFTER, max(delay, float(retry_after)))
        self._sleep(delay)

    def _post(self, payload: Any, method: str) -> Any:
        last_reason = "no attempt made"
        for attempt in range(self._retries + 1):
            retry_after: str | None = None
            try:
                response = self._http.post(self.url, json=payload)
            except httpx.TimeoutException:
                last_reason = "timed out"
            except httpx.TransportError as exc:
                last_reason = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code in _RETRY_STATUSES:
                    last_reason = f"HTTP {response.status_code}"
                    retry_after = response.headers.get("retry-after")
                elif response.status_code >= 400:
                    raise RpcResponseError(self.endpoint, method, f"HTTP {response.status_code}")
                else:
                    try:
                        body = response.json()
                    except ValueError:
                        raise RpcResponseError(self.endpoint, method, "response is not JSON") from None
                    if not _rate_limited(body):
                        return body
                    last_reason = "rate limited"
            if attempt < self._retries:
                self._wait(attempt, retry_after)
        raise LedgerUnavailableError(self.endpoint, f"{last_reason} after {self._retries + 1} attempts")

    # -- JSON-RPC
    # ----------------------------------------------------------------------------------------------------

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Call one method and return its ``result``. Raises ``LedgerUnavailableError`` or
        ``RpcResponseError``."""
        body = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}, method)
        return _result(self.endpoint, method, body)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Send several calls in one JSON-RPC batch; results come back in the order of ``calls``."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": list(params)}
            for i, (method, params) in zip(ids, calls, strict=True)
        ]
        label = calls[0][0] if len({m for m, _ in calls}) == 1 else "batch"
        body = self._post(payload, label)
        if not isinstance(body, list):
            # Some servers answer a whole batch with one error object (e.g. batches not supported).
            return [_result(self.endpoint, label, body)]
        by_id = {item.get("id"): item for item in body if isinstance(item, dict)}
        out = []
        for i, (method, _) in zip(ids, calls, strict=True):
            if i not in by_id:
                raise RpcResponseError(self.endpoint, method, "batch response lacks an answer")
            out.append(_result(self.endpoint, method, by_id[i]))
        return out

    # -- typed helpers
    # ---------------------------------------------------------------------------------------------

    def chain_id(self) -> int:
        """``eth_chainId``."""
        return _quantity(self.endpoint, "eth_chainId", self.call("eth_chainId"))

    def block_number(self) -> int:
        """``eth_blockNumber``: the current head."""
        return _quantity(self.endpoint, "eth_blockNumber", self.call("eth_blockNumber"))

    def get_block(self, block: int | str | bytes, *, full_transactions: bool = False) -> dict[str, Any]:
        """``eth_getBlockByNumber`` (int or tag) or ``eth_getBlockByHash`` (32 bytes or a 66-char hex
        string)."""
        if isinstance(block, bytes) or (isinstance(block, str) and len(block) == 66):
            ref = to_hex(block) if isinstance(block, bytes) else block
            method, params = "eth_getBlockByHash", [ref, full_transactions]
        else:
            method, params = "eth_getBlockByNumber", [_block_tag(block), full_transactions]
        result = self.call(method, params)
        if not isinstance(result, dict):
            raise RpcResponseError(self.endpoint, method, f"block {block!r} not found")
        return result

    def get_transaction_receipt(self, tx_hash: str) -> dict[str, Any]:
        """``eth_getTransactionReceipt``."""
        result = self.call("eth_getTransactionReceipt", [tx_hash])
        if not isinstance(result, dict):
            raise RpcResponseError(self.endpoint, "eth_getTransactionReceipt", f"no receipt for {tx_hash}")
        return result

    def get_logs(self, filter_params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``eth_getLogs``."""
        result = self.call("eth_getLogs", [dict(filter_params)])
        if not isinstance(result, list):
            raise RpcResponseError(self.endpoint, "eth_getLogs", "result is not a list")
        return result

    def eth_call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        """``eth_call`` of ``data`` against contract ``to``; returns the raw return data."""
        result = self.call("eth_call", [{"to": to, "data": to_hex(data)}, _block_tag(block)])
        if not isinstance(result, str) or not result.startswith("0x"):
            raise RpcResponseError(self.endpoint, "eth_call", "result is not hex data")
        try:
            return bytes.fromhex(result[2:])
        except ValueError:
            raise RpcResponseError(self.endpoint, "eth_call", "result is not hex data") from None

    def get_proof(self, address: str, slots: Sequence[int], block: int | str) -> dict[str, Any]:
        """EIP-1186 ``eth_getProof``; slots go out as 32-byte hex words (some nodes reject short hex)."""
        words = [f"0x{slot:064x}" for slot in slots]
        result = self.call("eth_getProof", [address, words, _block_tag(block)])
        if not isinstance(result, dict):
            raise RpcResponseError(self.endpoint, "eth_getProof", "result is not an object")
        return result


def _block_tag(block: int | str) -> str:
    return hex(block) if isinstance(block, int) else block


def _quantity(endpoint: str, method: str, value: Any) -> int:
    try:
        return hex_quantity(value, what=method)
    except InputError as exc:
        raise RpcResponseError(endpoint, method, str(exc)) from None


def _rate_limited(body: Any) -> bool:
    if isinstance(body, dict):
        error = body.get("error")
        return isinstance(error, dict) and error.get("code") in _RATE_LIMIT_CODES
    return False


def _result(endpoint: str, method: str, body: Any) -> Any:
    if not isinstance(body, dict):
        raise RpcResponseError(endpoint, method, "response is not a JSON-RPC object")
    error = body.get("error")
    if error is not None:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise RpcResponseError(endpoint, method, str(message), code if isinstance(code, int) else None)
    if "result" not in body:
        raise RpcResponseError(endpoint, method, "response has neither result nor error")
    return body["result"]
