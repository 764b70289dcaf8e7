"""An in-process Fabric peer for tests: the real Deliver, Gateway and Endorser gRPC services over test blocks.

A Fabric peer cannot run on these machines, so tests start this one on 127.0.0.1 (TLS, optionally mutual). It
serves, from the official protobuf service definitions:

* ``protos.Deliver/Deliver`` — checks the signed ``DELIVER_SEEK_INFO`` envelope (creator signature, creator issued by
  a channel organisation's CA, ``tls_cert_hash`` = the client's TLS certificate under mutual TLS) and streams the
  stored blocks, with their validation codes, from the requested number; ``NOT_FOUND`` past the newest block
  (``FAIL_IF_NOT_READY``), ``SUCCESS`` after the last one.
* ``gateway.Gateway/Evaluate`` — QSCC ``GetChainInfo``, ``GetBlockByNumber``, ``GetTransactionByID``, and
  ``ReadState <key>`` of any chaincode over the world state the VALID transactions built.
* ``gateway.Gateway/ChaincodeEvents`` — events of VALID transactions, from a block number and after a tx id. Unlike
  a real gateway, the stream ends after the newest block instead of waiting for new ones.
* ``protos.Endorser/ProcessProposal`` — QSCC ``GetTransactionByID``, answered with a ``ProposalResponse`` signed by
  this peer's identity (what attests a validation code).

The adapter talks to it exactly as to a real peer; nothing in the adapter knows it is a test peer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    events_pb2,
    events_pb2_grpc,
    peer_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf.message import DecodeError

from .._crypto import ecdsa_verify
from ._network import _EPOCH, TestIdentity, TestNetwork, TestOrg, header_hash_of, strip_validation_codes

# ----------------------------------------------------------------------------------------------------------------
# TLS material


@dataclass(frozen=True)
class TLSMaterial:
    """A TLS certificate and key (PEM) issued by an organisation's CA, plus that CA (the root to trust)."""

    certificate_pem: bytes
    key_pem: bytes = field(repr=False)
    ca_pem: bytes

    @property
    def certificate_der_hash(self) -> bytes:
        """SHA-256 of the certificate's DER (what ``tls_cert_hash`` carries)."""
        cert = x509.load_pem_x509_certificate(self.certificate_pem)
        return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


def issue_tls(org: TestOrg, name: str, *, server: bool) -> TLSMaterial:
    """A TLS server (SAN localhost and 127.0.0.1) or client certificate from ``org``'s CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(org.ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_EPOCH)
        .not_valid_after(_EPOCH + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(org.ca_key, hashes.SHA256())
    return TLSMaterial(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        org.ca_pem,
    )


def write_msp_dir(identity: TestIdentity, folder: str | Path) -> Path:
    """Write ``identity`` as a Fabric MSP folder (``signcerts/cert.pem``, ``keystore/priv_sk``); returns it."""
    root = Path(folder)
    (root / "signcerts").mkdir(parents=True, exist_ok=True)
    (root / "keystore").mkdir(parents=True, exist_ok=True)
    (root / "signcerts" / "cert.pem").write_bytes(identity.certificate_pem)
    key = root / "keystore" / "priv_sk"
    key.write_bytes(
        identity.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key.chmod(0o600)
    return root


# ----------------------------------------------------------------------------------------------------------------
# a manufacturer's product ledger


def product_value(gtin: str, name: str, *, version: int = 1, **extra: Any) -> bytes:
    """A manufacturer's product record as the ``products`` chaincode stores it (UTF-8 JSON)."""
    record: dict[str, Any] = {
        "gtin": gtin,
        "name": name,
        "sku": f"SKU-{gtin[-6:]}",
        "countryOfOrigin": "VN",
        "manufacturer": {"name": "Acme Manufacturing Co.", "did": "did:web:acme-manufacturing.example"},
        "registeredAt": "2025-01-02T00:00:00Z",
        "version": version,
    }
    record.update(extra)
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class ProductLedger:
    """A two-organisation channel (MAJORITY endorsement) with a ``products`` chaincode and what tests expect of it.

    ``valid`` maps each VALID transaction's tx id to the product keys it wrote (``None`` for a delete);
    ``invalid`` maps tx ids of transactions a peer marked invalid to their validation code name.
    """

    network: TestNetwork
    blocks: list[bytes]
    chaincode: str
    valid: dict[str, dict[str, bytes | None]]
    invalid: dict[str, str]
    tampered: bytes = b""

    @property
    def genesis_hash(self) -> str:
        """Hex hash of the genesis block header: the trust anchor."""
        return header_hash_of(self.blocks[0]).hex()

    @property
    def ledger_id(self) -> str:
        """``fabric:`` + the first 16 hex characters of the genesis block hash."""
        return "fabric:" + self.genesis_hash[:16]


def _tx_id_of(envelope: bytes) -> str:
    payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(envelope).payload)
    return str(common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id)


def build_product_ledger(
    network: TestNetwork | None = None, *, chaincode: str = "products", extra_products: int = 2
) -> ProductLedger:
    """Blocks of a manufacturer's product registry on a two-org channel with a MAJORITY endorsement policy.

    #0 genesis; #1 ``_lifecycle`` commit of ``chaincode`` (policy /Channel/Application/Endorsement = MAJORITY);
    #2 two products registered; #3 a product endorsed by one org only (ENDORSEMENT_POLICY_FAILURE) and a replay of
    a #2 envelope (DUPLICATE_TXID); #4 an update of the first product (superseding write) and a delete of the
    second; #5 ``extra_products`` more products and a write to a non-product key. Every block is hash-linked and
    orderer-signed; the validation codes are what a committing peer records.
    """
    net = network or TestNetwork.create(channel="productchannel")
    org1, org2 = list(net.orgs)[:2]
    client = net.clients[org1]
    both = [net.peers[org1], net.peers[org2]]
    blocks = [net.genesis_block()]
    blocks.append(net.block(1, header_hash_of(blocks[-1]), [net.commit_definition_envelope(chaincode)]))
    valid: dict[str, dict[str, bytes | None]] = {}
    invalid: dict[str, str] = {}

    def put(
        key: str,
        value: bytes,
        *,
        endorsers: Sequence[TestIdentity] = both,
        read: tuple[int, int] | None = None,
        event: bool = True,
    ) -> bytes:
        return net.endorser_envelope(
            client=client,
            endorsers=endorsers,
            chaincode=chaincode,
            function="RegisterProduct",
            args=[key.encode(), value],
            writes={key: value},
            reads={key: read} if read else None,
            event=("ProductRegistered", value) if event else None,
        )

    gtins = ["00614141000012", "00614141000029", "00614141000036"]
    a = put(f"product~{gtins[0]}", product_value(gtins[0], "Cordless Drill X200"))
    b = put(f"product~{gtins[1]}", product_value(gtins[1], "Impact Driver Z10"))
    blocks.append(net.block(2, header_hash_of(blocks[-1]), [a, b]))
    valid[_tx_id_of(a)] = {f"product~{gtins[0]}": product_value(gtins[0], "Cordless Drill X200")}
    valid[_tx_id_of(b)] = {f"product~{gtins[1]}": product_value(gtins[1], "Impact Driver Z10")}

    # Endorsed by Org1's peer only: MAJORITY of two organisations needs both, so the committing peer marks it
    # ENDORSEMENT_POLICY_FAILURE (10). The replayed envelope of ``a`` is marked DUPLICATE_TXID (9).
    c = put(f"product~{gtins[2]}", product_value(gtins[2], "Angle Grinder G5"), endorsers=[net.peers[org1]])
    blocks.append(net.block(3, header_hash_of(blocks[-1]), [c, a], validation_codes=[10, 9]))
    invalid[_tx_id_of(c)] = "ENDORSEMENT_POLICY_FAILURE"
    # ``a`` appears twice; only its first (valid) occurrence counts.

    updated = product_value(gtins[0], "Cordless Drill X200 (rev. B)", version=2)
    d = put(f"product~{gtins[0]}", updated, read=(2, 0))
    e = net.endorser_envelope(
        client=client,
        endorsers=both,
        chaincode=chaincode,
        function="DeleteProduct",
        args=[f"product~{gtins[1]}".encode()],
        reads={f"product~{gtins[1]}": (2, 1)},
        deletes=[f"product~{gtins[1]}"],
    )
    blocks.append(net.block(4, header_hash_of(blocks[-1]), [d, e]))
    valid[_tx_id_of(d)] = {f"product~{gtins[0]}": updated}
    valid[_tx_id_of(e)] = {f"product~{gtins[1]}": None}

    envelopes = []
    for i in range(extra_products):
        gtin = f"0061414100{1000 + i * 7:04d}"
        value = product_value(gtin, f"Product {i}")
        env = put(f"product~{gtin}", value)
        envelopes.append(env)
        valid[_tx_id_of(env)] = {f"product~{gtin}": value}
    other = net.endorser_envelope(
        client=client,
        endorsers=both,
        chaincode=chaincode,
        function="SetCounter",
        writes={"counter": b"7"},
    )
    envelopes.append(other)
    valid[_tx_id_of(other)] = {"counter": b"7"}
    blocks.append(net.block(5, header_hash_of(blocks[-1]), envelopes))
    # A write set changed after endorsement: the endorsements no longer cover the bytes (kept out of the chain;
    # tests graft it into evidence to show the checker catches it).
    tampered = net.endorser_envelope(
        client=client,
        endorsers=both,
        chaincode=chaincode,
        function="RegisterProduct",
        writes={f"product~{gtins[0]}": product_value(gtins[0], "Counterfeit Drill")},
        tamper="writes",
        tamper_index=20,
    )
    return ProductLedger(net, blocks, chaincode, valid, invalid, tampered)


# ----------------------------------------------------------------------------------------------------------------
# the peer


class _PeerState:
    """The blocks a peer committed and what it derives from them (tx index, world state, events)."""

    def __init__(self, channel: str, blocks: Sequence[bytes]) -> None:
        self.channel = channel
        self.blocks = list(blocks)
        self.transactions: dict[str, tuple[bytes, int]] = {}
        self.state: dict[str, dict[str, bytes]] = {}
        self.events: list[tuple[int, str, chaincode_event_pb2.ChaincodeEvent]] = []
        for number, raw in enumerate(self.blocks):
            block = common_pb2.Block.FromString(raw)
            codes = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
            for i, env in enumerate(block.data.data):
                code = codes[i] if i < len(codes) else 0
                tx_id = _tx_id_of(env)
                self.transactions.setdefault(tx_id, (bytes(env), code))
                if code == 0:
                    self._apply(number, env)

    def _apply(self, number: int, env: bytes) -> None:
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(env).payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        if header.type != common_pb2.ENDORSER_TRANSACTION:
            return
        tx = transaction_pb2.Transaction.FromString(payload.data)
        for action in tx.actions:
            cap = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
            prp = proposal_response_pb2.ProposalResponsePayload.FromString(cap.action.proposal_response_payload)
            cca = proposal_pb2.ChaincodeAction.FromString(prp.extension)
            rw = rwset_pb2.TxReadWriteSet.FromString(cca.results)
            for ns in rw.ns_rwset:
                kv = kv_rwset_pb2.KVRWSet.FromString(ns.rwset)
                space = self.state.setdefault(ns.namespace, {})
                for w in kv.writes:
                    if w.is_delete:
                        space.pop(w.key, None)
                    else:
                        space[w.key] = bytes(w.value)
            if cca.events:
                event = chaincode_event_pb2.ChaincodeEvent.FromString(cca.events)
                self.events.append((number, header.tx_id, event))


def _verify_signed(creator_raw: bytes, message: bytes, signature: bytes, network: TestNetwork) -> str | None:
    """None when ``signature`` over ``message`` verifies by a creator issued by one of the channel's CAs."""
    try:
        sid = identities_pb2.SerializedIdentity.FromString(creator_raw)
        cert = x509.load_pem_x509_certificate(sid.id_bytes)
    except (DecodeError, ValueError):
        return "the creator is not a serialized X.509 identity"
    org = network.orgs.get(sid.mspid) or (network.orderer_org if sid.mspid == network.orderer_org.msp_id else None)
    if org is None:
        return f"MSP {sid.mspid} is not a member of the channel"
    try:
        cert.verify_directly_issued_by(org.ca_cert)
    except (ValueError, TypeError, Exception):  # InvalidSignature and friends: not issued by that CA
        return f"the creator certificate was not issued by {sid.mspid}'s CA"
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "the creator key is not ECDSA"
    return ecdsa_verify(key, signature, message)


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable")  # ServicerContext.abort raises


def _client_tls_hash(context: grpc.ServicerContext) -> bytes | None:
    certs = context.auth_context().get("x509_pem_cert")
    if not certs:
        return None
    cert = x509.load_pem_x509_certificate(certs[0])
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


def _parse_proposal(
    signed: proposal_pb2.SignedProposal, network: TestNetwork, context: grpc.ServicerContext
) -> tuple[common_pb2.ChannelHeader, bytes, bytes, bytes, list[bytes]]:
    try:
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input)
    except DecodeError as exc:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed proposal: {exc}")
    problem = _verify_signed(signature_header.creator, signed.proposal_bytes, signed.signature, network)
    if problem:
        context.abort(grpc.StatusCode.PERMISSION_DENIED, f"proposal signature rejected: {problem}")
    if hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest() != channel_header.tx_id:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "tx id is not SHA-256(nonce ‖ creator)")
    args = [bytes(a) for a in spec.chaincode_spec.input.args]
    return channel_header, bytes(header.channel_header), bytes(header.signature_header), bytes(proposal.payload), args


class _Deliver(events_pb2_grpc.DeliverServicer):  # type: ignore[misc]  # generated base class is untyped
    def __init__(self, peer: TestPeer) -> None:
        self.peer = peer

    def Deliver(  # noqa: N802  # gRPC method name
        self, request_iterator: Iterator[common_pb2.Envelope], context: grpc.ServicerContext
    ) -> Iterator[events_pb2.DeliverResponse]:
        for envelope in request_iterator:
            status, blocks = self._seek(envelope, context)
            for raw in blocks:
                if not self.peer.deliver_codes:
                    raw = strip_validation_codes(raw)
                yield events_pb2.DeliverResponse(block=common_pb2.Block.FromString(raw))
            yield events_pb2.DeliverResponse(status=status)

    def _seek(self, envelope: common_pb2.Envelope, context: grpc.ServicerContext) -> tuple[int, list[bytes]]:
        peer = self.peer
        try:
            payload = common_pb2.Payload.FromString(envelope.payload)
            header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            seek = ab_pb2.SeekInfo.FromString(payload.data)
        except DecodeError:
            return common_pb2.BAD_REQUEST, []
        if header.type != common_pb2.DELIVER_SEEK_INFO or header.channel_id != peer.state.channel:
            return common_pb2.BAD_REQUEST if header.channel_id == peer.state.channel else common_pb2.NOT_FOUND, []
        if _verify_signed(signature_header.creator, envelope.payload, envelope.signature, peer.network):
            return common_pb2.FORBIDDEN, []
        tls_hash = _client_tls_hash(context)
        # Mutual TLS binding (core/comm BindingInspector): the envelope must name the certificate of this connection.
        if tls_hash is not None and header.tls_cert_hash != tls_hash:
            return common_pb2.FORBIDDEN, []
        peer.requests.append(("Deliver", seek.start.specified.number))
        height = len(peer.state.blocks)
        start = seek.start.specified.number if seek.start.HasField("specified") else 0
        if seek.start.HasField("newest"):
            start = height - 1
        stop = height - 1
        if seek.stop.HasField("specified"):
            stop = seek.stop.specified.number
        if start >= height or stop >= height:
            return common_pb2.NOT_FOUND, []
        return common_pb2.SUCCESS, peer.state.blocks[start : stop + 1]


class _Gateway(gateway_pb2_grpc.GatewayServicer):  # type: ignore[misc]  # generated base class is untyped
    def __init__(self, peer: TestPeer) -> None:
        self.peer = peer

    def Evaluate(  # noqa: N802  # gRPC method name
        self, request: gateway_pb2.EvaluateRequest, context: grpc.ServicerContext
    ) -> gateway_pb2.EvaluateResponse:
        peer = self.peer
        header, *_, args = _parse_proposal(request.proposed_transaction, peer.network, context)
        cc = proposal_pb2.ChaincodeHeaderExtension.FromString(header.extension).chaincode_id.name
        function = args[0].decode() if args else ""
        peer.requests.append(("Evaluate", f"{cc}.{function}"))
        payload = peer.query(cc, function, args[1:], context)
        return gateway_pb2.EvaluateResponse(result=proposal_response_pb2.Response(status=200, payload=payload))

    def ChaincodeEvents(  # noqa: N802  # gRPC method name
        self, request: gateway_pb2.SignedChaincodeEventsRequest, context: grpc.ServicerContext
    ) -> Iterator[gateway_pb2.ChaincodeEventsResponse]:
        peer = self.peer
        try:
            inner = gateway_pb2.ChaincodeEventsRequest.FromString(request.request)
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed request: {exc}")
        problem = _verify_signed(inner.identity, request.request, request.signature, peer.network)
        if problem:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"request signature rejected: {problem}")
        if inner.channel_id != peer.state.channel:
            context.abort(grpc.StatusCode.NOT_FOUND, f"channel {inner.channel_id} not found")
        start = inner.start_position.specified.number if inner.start_position.HasField("specified") else 0
        peer.requests.append(("ChaincodeEvents", start))
        skipping = bool(inner.after_transaction_id)
        by_block: dict[int, list[chaincode_event_pb2.ChaincodeEvent]] = {}
        for number, tx_id, event in peer.state.events:
            if number < start or event.chaincode_id != inner.chaincode_id:
                continue
            if skipping and number == start:
                if tx_id == inner.after_transaction_id:
                    skipping = False
                continue
            by_block.setdefault(number, []).append(event)
        for number in sorted(by_block):
            yield gateway_pb2.ChaincodeEventsResponse(events=by_block[number], block_number=number)


class _Endorser(peer_pb2_grpc.EndorserServicer):  # type: ignore[misc]  # generated base class is untyped
    def __init__(self, peer: TestPeer) -> None:
        self.peer = peer

    def ProcessProposal(  # noqa: N802  # gRPC method name
        self, request: proposal_pb2.SignedProposal, context: grpc.ServicerContext
    ) -> proposal_response_pb2.ProposalResponse:
        peer = self.peer
        header, ch, sh, payload, args = _parse_proposal(request, peer.network, context)
        cc = proposal_pb2.ChaincodeHeaderExtension.FromString(header.extension).chaincode_id.name
        function = args[0].decode() if args else ""
        peer.requests.append(("ProcessProposal", f"{cc}.{function}"))
        if cc != "qscc" or function != "GetTransactionByID" or len(args) != 3:
            return proposal_response_pb2.ProposalResponse(
                response=proposal_response_pb2.Response(status=501, message="only qscc GetTransactionByID")
            )
        found = peer.state.transactions.get(args[2].decode())
        if found is None:
            return proposal_response_pb2.ProposalResponse(
                response=proposal_response_pb2.Response(status=500, message=f"no such transaction ID [{args[2]!r}]")
            )
        envelope, code = found
        processed = transaction_pb2.ProcessedTransaction(
            transactionEnvelope=common_pb2.Envelope.FromString(envelope), validationCode=code
        )
        action = proposal_pb2.ChaincodeAction(
            response=proposal_response_pb2.Response(status=200, payload=processed.SerializeToString()),
            chaincode_id=chaincode_pb2.ChaincodeID(name="qscc"),
        )
        # The proposal hash binds the signed answer to this request (protoutil.GetProposalHash1).
        prp = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=hashlib.sha256(ch + sh + payload).digest(), extension=action.SerializeToString()
        ).SerializeToString()
        me = peer.identity
        return proposal_response_pb2.ProposalResponse(
            version=1,
            response=proposal_response_pb2.Response(status=200),
            payload=prp,
            endorsement=proposal_response_pb2.Endorsement(
                endorser=me.serialized, signature=me.sign(prp + me.serialized)
            ),
        )


class TestPeer:
    """A peer of ``network`` for organisation ``msp_id`` serving ``blocks`` on 127.0.0.1 (a free port).

    ``mutual_tls`` requires a client certificate issued by a channel organisation's CA. ``deliver_codes=False``
    serves blocks over Deliver as an orderer does (no TRANSACTIONS_FILTER) while QSCC still answers from the
    peer's ledger, with the codes. ``requests`` records what
    was asked (service, detail), so tests can see resumption happen. Use as a context manager or call
    :meth:`start` / :meth:`stop`.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        network: TestNetwork,
        msp_id: str,
        blocks: Sequence[bytes],
        *,
        mutual_tls: bool = True,
        deliver_codes: bool = True,
    ) -> None:
        self.network = network
        self.deliver_codes = deliver_codes
        self.msp_id = msp_id
        self.identity = network.peers[msp_id]
        self.state = _PeerState(network.channel, blocks)
        self.tls = issue_tls(network.orgs[msp_id], f"peer0.{msp_id.lower()}", server=True)
        self.mutual_tls = mutual_tls
        self.requests: list[tuple[str, Any]] = []
        self.port = 0
        self._server: grpc.Server | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>`` once started."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TestPeer:
        """Start serving (TLS) on a free port of 127.0.0.1."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        events_pb2_grpc.add_DeliverServicer_to_server(_Deliver(self), server)
        gateway_pb2_grpc.add_GatewayServicer_to_server(_Gateway(self), server)
        peer_pb2_grpc.add_EndorserServicer_to_server(_Endorser(self), server)
        roots = b"".join([o.ca_pem for o in self.network.orgs.values()])
        credentials = grpc.ssl_server_credentials(
            [(self.tls.key_pem, self.tls.certificate_pem)],
            root_certificates=roots if self.mutual_tls else None,
            require_client_auth=self.mutual_tls,
        )
        self.port = server.add_secure_port("127.0.0.1:0", credentials)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving (in-flight calls are cancelled)."""
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def __enter__(self) -> TestPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def query(self, chaincode: str, function: str, args: list[bytes], context: grpc.ServicerContext) -> bytes:
        """Answer an Evaluate: QSCC functions, or ``ReadState <key>`` of a chaincode's world state."""
        state = self.state
        if chaincode == "qscc":
            if function == "GetChainInfo":
                last = state.blocks[-1]
                prev = common_pb2.Block.FromString(last).header.previous_hash
                return bytes(
                    ledger_pb2.BlockchainInfo(
                        height=len(state.blocks), currentBlockHash=header_hash_of(last), previousBlockHash=prev
                    ).SerializeToString()
                )
            if function == "GetBlockByNumber" and len(args) == 2:
                number = int(args[1])
                if number >= len(state.blocks):
                    _abort(context, grpc.StatusCode.NOT_FOUND, f"block {number} not found")
                return state.blocks[number]
            if function == "GetTransactionByID" and len(args) == 2:
                found = state.transactions.get(args[1].decode())
                if found is None:
                    _abort(context, grpc.StatusCode.NOT_FOUND, "no such transaction ID")
                return bytes(
                    transaction_pb2.ProcessedTransaction(
                        transactionEnvelope=common_pb2.Envelope.FromString(found[0]), validationCode=found[1]
                    ).SerializeToString()
                )
            _abort(context, grpc.StatusCode.UNIMPLEMENTED, f"qscc {function} is not served by this peer")
        if function == "ReadState" and len(args) == 1:
            value = state.state.get(chaincode, {}).get(args[0].decode())
            if value is None:
                _abort(context, grpc.StatusCode.NOT_FOUND, f"{chaincode}: no value for {args[0].decode()!r}")
            return value
        _abort(context, grpc.StatusCode.UNIMPLEMENTED, f"{chaincode}.{function} is not served by this peer")
