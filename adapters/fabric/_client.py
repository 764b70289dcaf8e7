"""A gRPC client for Fabric peers over the official protobufs: Deliver, Gateway and Endorser.

What it speaks (Fabric 2.4+ peers; ``fabric-protos`` ``peer/events.proto``, ``gateway/gateway.proto``,
``peer/peer.proto``):

* ``protos.Deliver/Deliver`` — whole blocks *with* the TRANSACTIONS_FILTER validation codes, from any block number.
  The request is a signed ``common.Envelope`` whose channel header has type ``DELIVER_SEEK_INFO`` and whose data is an
  ``orderer.SeekInfo``; under mutual TLS the channel header carries ``tls_cert_hash`` = SHA-256 of the client's TLS
  certificate (DER), which the peer compares with the certificate it saw in the handshake
  (``common/deliver/deliver.go``, ``core/comm``).
* ``gateway.Gateway/Evaluate`` — a signed proposal evaluated by one peer; used for QSCC ``GetChainInfo``,
  ``GetBlockByNumber`` and ``GetTransactionByID``.
* ``gateway.Gateway/ChaincodeEvents`` — events of VALID transactions of one chaincode, resumable by block number and
  ``after_transaction_id``.
* ``protos.Endorser/ProcessProposal`` — QSCC ``GetTransactionByID`` sent to one peer returns a
  ``peer.ProposalResponse`` that the peer signs like an endorsement; responses from peers of several organisations
  attest a transaction's validation code (:mod:`._attest`).

Signing identities come from an MSP folder (``signcerts/`` + ``keystore/``): ECDSA P-256 with SHA-256, low-S
(Fabric's BCCSP rejects high-S). gRPC failures become :class:`FabricPeerError` (STYLE.md 3); :func:`with_retry` retries
transient ones with exponential backoff. This module is I/O at the edge: verification never calls it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import (
    chaincode_pb2,
    events_pb2_grpc,
    peer_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from vcgate.canonical_schema import VcgateError

from ._crypto import to_low_s

_log = logging.getLogger("vcgate.adapters.fabric")
_T = TypeVar("_T")

# gRPC codes worth retrying: the peer is down, restarting, overloaded, or the call timed out.
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.UNKNOWN,
    }
)


class FabricPeerError(VcgateError):
    """A peer could not be reached or refused a request. ``transient`` says whether retrying may help."""

    def __init__(self, message: str, *, address: str = "", transient: bool = False) -> None:
        super().__init__(message)
        self.address = address
        self.transient = transient


class FabricConfigError(VcgateError):
    """An identity, TLS file or peer setting cannot be used; the message names the file or setting."""


# ----------------------------------------------------------------------------------------------------------------
# identities and TLS


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """An MSP signing identity: MSP id, certificate (PEM) and its P-256 private key. Build with
    :meth:`from_msp_dir` or :meth:`from_pem`."""

    msp_id: str
    certificate_pem: bytes
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def from_pem(cls, msp_id: str, certificate_pem: bytes, key_pem: bytes) -> SigningIdentity:
        """An identity from a PEM certificate and a PEM (PKCS#8 or SEC1) private key.

        Raises :class:`FabricConfigError` when they do not parse, the key is not P-256, or they do not match.
        """
        try:
            cert = x509.load_pem_x509_certificate(certificate_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
        except ValueError as exc:
            raise FabricConfigError(f"identity of {msp_id}: cannot read the certificate or key ({exc})") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise FabricConfigError(f"identity of {msp_id}: the private key must be ECDSA P-256, as Fabric's MSP needs")
        if cert.public_key() != key.public_key():
            raise FabricConfigError(f"identity of {msp_id}: the private key does not belong to the certificate")
        return cls(msp_id, certificate_pem, key)

    @classmethod
    def from_msp_dir(cls, msp_dir: str | Path, msp_id: str) -> SigningIdentity:
        """Load ``signcerts/*.pem`` and ``keystore/*`` from a Fabric MSP folder (as cryptogen and fabric-ca write)."""
        root = Path(msp_dir)
        certs = sorted((root / "signcerts").glob("*.pem")) if (root / "signcerts").is_dir() else []
        keys = sorted(p for p in (root / "keystore").glob("*") if p.is_file()) if (root / "keystore").is_dir() else []
        if len(certs) != 1 or len(keys) != 1:
            raise FabricConfigError(
                f"MSP folder {root} must hold exactly one signcerts/*.pem and one keystore/* key "
                f"(found {len(certs)} certificates, {len(keys)} keys)"
            )
        try:
            return cls.from_pem(msp_id, certs[0].read_bytes(), keys[0].read_bytes())
        except OSError as exc:
            raise FabricConfigError(f"cannot read MSP folder {root}: {exc}") from None

    @property
    def serialized(self) -> bytes:
        """The ``msp.SerializedIdentity`` bytes that go into signature headers."""
        return bytes(
            identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.certificate_pem).SerializeToString()
        )

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256 over SHA-256(message), DER, normalised to low-S (Fabric rejects high-S)."""
        return to_low_s(self.private_key.sign(message, ec.ECDSA(hashes.SHA256())))


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """TLS for one peer: the CA roots to trust and, for mutual TLS, the client certificate and key (PEM)."""

    root_certificates: bytes
    client_certificate: bytes | None = None
    client_key: bytes | None = field(default=None, repr=False)
    server_name_override: str | None = None

    @classmethod
    def from_files(
        cls,
        root: str | Path,
        *,
        client_certificate: str | Path | None = None,
        client_key: str | Path | None = None,
        server_name_override: str | None = None,
    ) -> TLSConfig:
        """Read the PEM files; raise :class:`FabricConfigError` naming the unreadable one."""

        def read(path: str | Path) -> bytes:
            try:
                return Path(path).read_bytes()
            except OSError as exc:
                raise FabricConfigError(f"cannot read TLS file {path}: {exc.strerror}") from None

        if (client_certificate is None) != (client_key is None):
            raise FabricConfigError("mutual TLS needs both the client certificate and its key")
        return cls(
            root_certificates=read(root),
            client_certificate=read(client_certificate) if client_certificate is not None else None,
            client_key=read(client_key) if client_key is not None else None,
            server_name_override=server_name_override,
        )

    @property
    def client_cert_hash(self) -> bytes:
        """SHA-256 of the client TLS certificate's DER: the ``tls_cert_hash`` a peer expects under mutual TLS."""
        if self.client_certificate is None:
            return b""
        cert = x509.load_pem_x509_certificate(self.client_certificate)
        return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


# ----------------------------------------------------------------------------------------------------------------
# retries


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for transient peer errors: ``attempts`` tries, waiting ``initial_delay`` × 2^n (capped)."""

    attempts: int = 3
    initial_delay: float = 0.2
    max_delay: float = 5.0

    def delays(self) -> Iterator[float]:
        """The waits between attempts (one fewer than ``attempts``)."""
        delay = self.initial_delay
        for _ in range(max(0, self.attempts - 1)):
            yield min(delay, self.max_delay)
            delay *= 2


def with_retry(
    call: Callable[[], _T],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """Run ``call``; on a transient :class:`FabricPeerError` wait and retry per ``policy``, then re-raise the last."""
    delays = policy.delays()
    while True:
        try:
            return call()
        except FabricPeerError as exc:
            if not exc.transient:
                raise
            delay = next(delays, None)
            if delay is None:
                raise
            _log.warning("%s failed (%s); retrying in %.2fs", what, exc, delay)
            sleep(delay)


# ----------------------------------------------------------------------------------------------------------------
# message building


def _timestamp(now: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(now.astimezone(UTC).replace(tzinfo=None))
    return ts


@dataclass(frozen=True, slots=True)
class SignedProposalBundle:
    """A signed proposal and the facts derived while building it (tx id, proposal hash)."""

    signed_proposal: proposal_pb2.SignedProposal
    tx_id: str
    proposal_hash: bytes


def build_proposal(
    identity: SigningIdentity,
    channel: str,
    chaincode: str,
    args: Sequence[bytes],
    *,
    now: datetime,
    nonce: bytes | None = None,
) -> SignedProposalBundle:
    """A signed chaincode proposal (``protoutil.CreateChaincodeProposal`` + ``GetSignedProposal``).

    tx id = hex(SHA-256(nonce ‖ creator)); the proposal hash is SHA-256(channel header ‖ signature header ‖
    proposal payload), the value a peer puts in ``ProposalResponsePayload.proposal_hash``.
    """
    nonce = nonce if nonce is not None else os.urandom(24)
    creator = identity.serialized
    tx_id = hashlib.sha256(nonce + creator).hexdigest()
    cc_id = chaincode_pb2.ChaincodeID(name=chaincode)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel,
        tx_id=tx_id,
        timestamp=_timestamp(now),
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=cc_id).SerializeToString(),
    ).SerializeToString()
    signature_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString()
    spec = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            type=chaincode_pb2.ChaincodeSpec.GOLANG,
            chaincode_id=cc_id,
            input=chaincode_pb2.ChaincodeInput(args=list(args)),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString()).SerializeToString()
    proposal = proposal_pb2.Proposal(
        header=common_pb2.Header(channel_header=channel_header, signature_header=signature_header).SerializeToString(),
        payload=payload,
    ).SerializeToString()
    signed = proposal_pb2.SignedProposal(proposal_bytes=proposal, signature=identity.sign(proposal))
    return SignedProposalBundle(signed, tx_id, hashlib.sha256(channel_header + signature_header + payload).digest())


def build_seek_envelope(
    identity: SigningIdentity,
    channel: str,
    *,
    start: int,
    stop: int | None,
    tls_cert_hash: bytes,
    now: datetime,
) -> common_pb2.Envelope:
    """The signed ``DELIVER_SEEK_INFO`` envelope (``protoutil.CreateSignedEnvelopeWithTLSBinding``).

    ``stop=None`` asks for every block up to the newest at the time of the request, failing rather than waiting
    when ``start`` is beyond it (``FAIL_IF_NOT_READY``).
    """
    seek = ab_pb2.SeekInfo(
        start=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start)),
        stop=(
            ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest())
            if stop is None
            else ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=stop))
        ),
        behavior=ab_pb2.SeekInfo.FAIL_IF_NOT_READY,
    )
    nonce = os.urandom(24)
    creator = identity.serialized
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.DELIVER_SEEK_INFO,
        channel_id=channel,
        tx_id=hashlib.sha256(nonce + creator).hexdigest(),
        timestamp=_timestamp(now),
        tls_cert_hash=tls_cert_hash,
    ).SerializeToString()
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=channel_header,
            signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
        ),
        data=seek.SerializeToString(),
    ).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=identity.sign(payload))


# ----------------------------------------------------------------------------------------------------------------
# the client


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """QSCC ``GetChainInfo``: the height (number of blocks) and the hash of the newest block's header."""

    height: int
    current_block_hash: bytes
    previous_block_hash: bytes


@dataclass(frozen=True, slots=True)
class DeliveredEvent:
    """One chaincode event from ``Gateway/ChaincodeEvents`` and the block it was committed in."""

    block_number: int
    chaincode_id: str
    tx_id: str
    event_name: str
    payload: bytes


class PeerClient:
    """One peer of one channel, reached over gRPC with TLS (mutual when the TLS config has a client certificate).

    Every method converts gRPC failures into :class:`FabricPeerError`; ``timeout`` bounds each call in seconds.
    ``clock`` supplies the client-side timestamps Fabric headers carry (never used by verification).
    """

    def __init__(
        self,
        address: str,
        channel: str,
        identity: SigningIdentity,
        tls: TLSConfig | None,
        *,
        msp_id: str = "",
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.address = address
        self.channel = channel
        self.identity = identity
        self.tls = tls
        self.msp_id = msp_id
        self.timeout = timeout
        self._clock = clock
        options: list[tuple[str, Any]] = [("grpc.max_receive_message_length", 100 * 1024 * 1024)]
        if tls is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            if tls.server_name_override:
                options.append(("grpc.ssl_target_name_override", tls.server_name_override))
            credentials = grpc.ssl_channel_credentials(
                root_certificates=tls.root_certificates,
                private_key=tls.client_key,
                certificate_chain=tls.client_certificate,
            )
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self._deliver = events_pb2_grpc.DeliverStub(self._channel)
        self._gateway = gateway_pb2_grpc.GatewayStub(self._channel)
        self._endorser = peer_pb2_grpc.EndorserStub(self._channel)

    def close(self) -> None:
        """Close the gRPC channel."""
        self._channel.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, what: str, exc: grpc.RpcError) -> FabricPeerError:
        code = exc.code() if isinstance(exc, grpc.Call) else None
        details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
        name = code.name if code is not None else "UNKNOWN"
        return FabricPeerError(
            f"peer {self.address}: {what} failed ({name}: {details})",
            address=self.address,
            transient=code in _TRANSIENT if code is not None else True,
        )

    # -- Deliver ---------------------------------------------------------------------------------------------

    def deliver(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Serialized blocks (with validation codes) from ``start`` through ``stop`` (default: the newest).

        Yields nothing when ``start`` is beyond the newest block. Raises :class:`FabricPeerError` when the stream
        breaks or the peer refuses (a bad signature, an unknown channel, a TLS binding mismatch).
        """
        envelope = build_seek_envelope(
            self.identity,
            self.channel,
            start=start,
            stop=stop,
            tls_cert_hash=self.tls.client_cert_hash if self.tls else b"",
            now=self._clock(),
        )
        try:
            for response in self._deliver.Deliver(iter([envelope]), timeout=self.timeout):
                kind = response.WhichOneof("Type")
                if kind == "block":
                    yield bytes(response.block.SerializeToString())
                elif kind == "block_and_private_data":
                    yield bytes(response.block_and_private_data.block.SerializeToString())
                elif kind == "status":
                    if response.status == common_pb2.SUCCESS:
                        return
                    if response.status == common_pb2.NOT_FOUND and stop is None:
                        return  # nothing at or after ``start`` yet (FAIL_IF_NOT_READY)
                    raise FabricPeerError(
                        f"peer {self.address}: Deliver of channel {self.channel} from block {start} refused "
                        f"with status {common_pb2.Status.Name(response.status)}",
                        address=self.address,
                        transient=response.status == common_pb2.SERVICE_UNAVAILABLE,
                    )
        except grpc.RpcError as exc:
            raise self._error(f"Deliver from block {start}", exc) from None

    # -- Gateway ---------------------------------------------------------------------------------------------

    def evaluate(self, chaincode: str, args: Sequence[bytes]) -> bytes:
        """``Gateway/Evaluate`` of ``chaincode`` with ``args`` (function first); returns the response payload."""
        bundle = build_proposal(self.identity, self.channel, chaincode, args, now=self._clock())
        request = gateway_pb2.EvaluateRequest(
            transaction_id=bundle.tx_id, channel_id=self.channel, proposed_transaction=bundle.signed_proposal
        )
        what = f"Evaluate {chaincode} {args[0].decode(errors='replace') if args else ''}".strip()
        try:
            response = self._gateway.Evaluate(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise self._error(what, exc) from None
        if response.result.status >= 400:
            raise FabricPeerError(
                f"peer {self.address}: {what} returned {response.result.status}: {response.result.message}",
                address=self.address,
            )
        return bytes(response.result.payload)

    def chain_info(self) -> ChainInfo:
        """QSCC ``GetChainInfo`` through the Gateway."""
        data = self.evaluate("qscc", [b"GetChainInfo", self.channel.encode()])
        try:
            info = ledger_pb2.BlockchainInfo.FromString(data)
        except DecodeError as exc:
            raise FabricPeerError(f"peer {self.address}: GetChainInfo answer does not decode: {exc}") from None
        return ChainInfo(info.height, bytes(info.currentBlockHash), bytes(info.previousBlockHash))

    def block_by_number(self, number: int) -> bytes:
        """QSCC ``GetBlockByNumber`` through the Gateway: the serialized block."""
        return self.evaluate("qscc", [b"GetBlockByNumber", self.channel.encode(), str(number).encode()])

    def transaction_by_id(self, tx_id: str) -> transaction_pb2.ProcessedTransaction:
        """QSCC ``GetTransactionByID`` through the Gateway: the envelope and its validation code (unsigned)."""
        data = self.evaluate("qscc", [b"GetTransactionByID", self.channel.encode(), tx_id.encode()])
        try:
            return transaction_pb2.ProcessedTransaction.FromString(data)
        except DecodeError as exc:
            raise FabricPeerError(f"peer {self.address}: GetTransactionByID answer does not decode: {exc}") from None

    def chaincode_events(
        self, chaincode: str, *, start_block: int = 0, after_transaction_id: str = ""
    ) -> Iterator[DeliveredEvent]:
        """``Gateway/ChaincodeEvents``: events of VALID transactions of ``chaincode`` from ``start_block``.

        ``after_transaction_id`` resumes inside the start block after that transaction. A live peer keeps the
        stream open for new blocks; the iterator ends when the call's ``timeout`` expires (or the peer closes it).
        """
        request = gateway_pb2.ChaincodeEventsRequest(
            channel_id=self.channel,
            chaincode_id=chaincode,
            identity=self.identity.serialized,
            start_position=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block)),
            after_transaction_id=after_transaction_id,
        ).SerializeToString()
        signed = gateway_pb2.SignedChaincodeEventsRequest(request=request, signature=self.identity.sign(request))
        try:
            for response in self._gateway.ChaincodeEvents(signed, timeout=self.timeout):
                for event in response.events:
                    yield DeliveredEvent(
                        response.block_number, event.chaincode_id, event.tx_id, event.event_name, bytes(event.payload)
                    )
        except grpc.RpcError as exc:
            if isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return  # the stream stays open on a live peer; the deadline is how a batch reader stops
            raise self._error(f"ChaincodeEvents of {chaincode}", exc) from None

    # -- Endorser --------------------------------------------------------------------------------------------

    def signed_transaction_by_id(self, tx_id: str) -> bytes:
        """QSCC ``GetTransactionByID`` sent to this peer's Endorser service: the serialized, peer-signed
        ``peer.ProposalResponse`` (check it with :func:`check_validation_attestation`)."""
        bundle = build_proposal(
            self.identity,
            self.channel,
            "qscc",
            [b"GetTransactionByID", self.channel.encode(), tx_id.encode()],
            now=self._clock(),
        )
        try:
            response = self._endorser.ProcessProposal(bundle.signed_proposal, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise self._error(f"ProcessProposal qscc GetTransactionByID {tx_id}", exc) from None
        if response.response.status >= 400:
            raise FabricPeerError(
                f"peer {self.address}: GetTransactionByID {tx_id} returned {response.response.status}: "
                f"{response.response.message}",
                address=self.address,
            )
        try:
            prp = proposal_response_pb2.ProposalResponsePayload.FromString(response.payload)
        except DecodeError as exc:
            raise FabricPeerError(f"peer {self.address}: malformed proposal response: {exc}") from None
        if prp.proposal_hash != bundle.proposal_hash:
            raise FabricPeerError(
                f"peer {self.address}: the signed response answers another proposal (proposal hash mismatch)",
                address=self.address,
            )
        return bytes(response.SerializeToString())
