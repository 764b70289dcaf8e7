"""A test Fabric network made in-process: an MSP per organisation (CA, peer, orderer, client certificates with
NodeOUs), a genesis block, endorser transactions and blocks built and signed exactly as Fabric does.

The output is real Fabric wire format (official protobufs), so what the verifier accepts here it accepts from
a
peer. Used by the tests, the benchmark and the in-process gRPC test peer; never by verification code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2, configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2, msp_principal_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from fabric_protos.peer import policy_pb2 as peer_policy_pb2
from fabric_protos.peer.lifecycle import chaincode_definition_pb2, db_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from .._crypto import block_data_hash, block_header_der, to_low_s

_ROLE_CODES = {"member": 0, "admin": 1, "client": 2, "peer": 3, "orderer": 4}
_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class TestIdentity:
    """A signing identity of the test network (private key kept in memory only)."""

    __test__ = False  # not a pytest test class

    msp_id: str
    role: str
    certificate_pem: bytes
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @property
    def serialized(self) -> bytes:
        """The ``msp.SerializedIdentity`` bytes Fabric puts in headers and endorsements."""
        return bytes(
            identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.certificate_pem).SerializeToString()
        )

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256 / SHA-256, DER, normalised to low-S as Fabric requires."""
        return to_low_s(self.private_key.sign(message, ec.ECDSA(hashes.SHA256())))


@dataclass
class TestOrg:
    """A test organisation: a CA and the identities it issued. ``crl_pem`` lists revoked serials when set."""

    __test__ = False  # not a pytest test class

    msp_id: str
    ca_key: ec.EllipticCurvePrivateKey = field(repr=False)
    ca_cert: x509.Certificate = field(repr=False)
    node_ous: bool = True
    revoked: list[int] = field(default_factory=list)

    @classmethod
    def create(cls, msp_id: str, *, node_ous: bool = True) -> TestOrg:
        """A new organisation with a self-signed P-256 CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, msp_id),
                x509.NameAttribute(NameOID.COMMON_NAME, f"ca.{msp_id.lower()}"),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_EPOCH)
            .not_valid_after(_EPOCH + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(msp_id, key, cert, node_ous)

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM)."""
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, role: str, name: str, *, ca_key: ec.EllipticCurvePrivateKey | None = None) -> TestIdentity:
        """Issue an identity whose OU is its NodeOU role (``client``, ``peer``, ``admin``, ``orderer``)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_EPOCH)
            .not_valid_after(_EPOCH + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key or self.ca_key, hashes.SHA256())
        )
        return TestIdentity(self.msp_id, role, cert.public_bytes(serialization.Encoding.PEM), key)

    def crl_pem(self) -> bytes:
        """A CRL signed by the CA listing ``revoked`` serials."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca_cert.subject)
            .last_update(_EPOCH)
            .next_update(_EPOCH + dt.timedelta(days=3650))
        )
        for serial in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_EPOCH).build()
            )
        return builder.sign(self.ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    def msp_config(self) -> bytes:
        """The serialized ``msp.MSPConfig`` of this organisation."""
        ca = self.ca_pem
        cfg = msp_config_pb2.FabricMSPConfig(name=self.msp_id, root_certs=[ca], tls_root_certs=[ca])
        if self.revoked:
            cfg.revocation_list.append(self.crl_pem())
        if self.node_ous:
            cfg.fabric_node_ous.enable = True
            for role in ("client", "peer", "admin", "orderer"):
                ou = getattr(cfg.fabric_node_ous, f"{role}_ou_identifier")
                ou.organizational_unit_identifier = role
                ou.certificate = ca
        cfg.crypto_config.signature_hash_family = "SHA2"
        cfg.crypto_config.identity_identifier_hash_function = "SHA256"
        return bytes(msp_config_pb2.MSPConfig(type=0, config=cfg.SerializeToString()).SerializeToString())


def _signature_policy(n: int, principals: Sequence[tuple[str, str]]) -> policies_pb2.SignaturePolicyEnvelope:
    env = policies_pb2.SignaturePolicyEnvelope(version=0)
    env.rule.n_out_of.n = n
    for i, (msp_id, role) in enumerate(principals):
        env.rule.n_out_of.rules.add().signed_by = i
        env.identities.add(
            principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
            principal=msp_principal_pb2.MSPRole(msp_identifier=msp_id, role=_ROLE_CODES[role]).SerializeToString(),
        )
    return env


def _put_signature_policy(
    group: configtx_pb2.ConfigGroup, name: str, n: int, principals: Sequence[tuple[str, str]]
) -> None:
    p = group.policies[name]
    p.mod_policy = "Admins"
    p.policy.type = policies_pb2.Policy.SIGNATURE
    p.policy.value = _signature_policy(n, principals).SerializeToString()


def _put_implicit(group: configtx_pb2.ConfigGroup, name: str, rule: str, sub: str) -> None:
    p = group.policies[name]
    p.mod_policy = "Admins"
    p.policy.type = policies_pb2.Policy.IMPLICIT_META
    p.policy.value = policies_pb2.ImplicitMetaPolicy(
        rule=policies_pb2.ImplicitMetaPolicy.Rule.Value(rule), sub_policy=sub
    ).SerializeToString()


def _put_value(group: configtx_pb2.ConfigGroup, name: str, value: bytes) -> None:
    group.values[name].value = value
    group.values[name].mod_policy = "Admins"


def _timestamp(when: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def _channel_header(htype: int, channel: str, tx_id: str, when: dt.datetime, extension: bytes = b"") -> bytes:
    return bytes(
        common_pb2.ChannelHeader(
            type=htype,
            version=0,
            timestamp=_timestamp(when),
            channel_id=channel,
            tx_id=tx_id,
            extension=extension,
        ).SerializeToString()
    )


@dataclass
class TestNetwork:
    """A channel with one orderer organisation and N peer organisations, and the identities that sign
    for them."""

    __test__ = False  # not a pytest test class

    channel: str
    orderer_org: TestOrg
    orgs: dict[str, TestOrg]
    orderer: TestIdentity
    peers: dict[str, TestIdentity]
    clients: dict[str, TestIdentity]
    clock: dt.datetime = _EPOCH + dt.timedelta(days=1)

    @classmethod
    def create(cls, channel: str = "testchannel", org_ids: Iterable[str] = ("Org1MSP", "Org2MSP")) -> TestNetwork:
        """Create CAs and one orderer, one peer and one client identity per organisation."""
        orderer_org = TestOrg.create("OrdererMSP")
        orgs = {m: TestOrg.create(m) for m in org_ids}
        return cls(
            channel=channel,
            orderer_org=orderer_org,
            orgs=orgs,
            orderer=orderer_org.issue("orderer", "orderer0.example.com"),
            peers={m: o.issue("peer", f"peer0.{m.lower()}") for m, o in orgs.items()},
            clients={m: o.issue("client", f"user1@{m.lower()}") for m, o in orgs.items()},
        )

    def tick(self) -> dt.datetime:
        """Advance and return the network clock (transaction timestamps; never the machine clock)."""
        self.clock += dt.timedelta(seconds=1)
        return self.clock

    # -- configuration
    # ------------------------------------------------------------------------------------------

    def config(self, sequence: int = 0) -> configtx_pb2.Config:
        """The channel configuration: etcdraft orderer, MAJORITY endorsement and lifecycle policies."""
        cfg = configtx_pb2.Config(sequence=sequence)
        root = cfg.channel_group
        root.mod_policy = "Admins"
        _put_value(root, "HashingAlgorithm", configuration_pb2.HashingAlgorithm(name="SHA256").SerializeToString())
        _put_value(
            root,
            "BlockDataHashingStructure",
            configuration_pb2.BlockDataHashingStructure(width=0xFFFFFFFF).SerializeToString(),
        )
        caps = configuration_pb2.Capabilities()
        caps.capabilities["V2_0"].SetInParent()
        _put_value(root, "Capabilities", caps.SerializeToString())
        for name, rule in (("Readers", "ANY"), ("Writers", "ANY"), ("Admins", "MAJORITY")):
            _put_implicit(root, name, rule, name)

        orderer = root.groups["Orderer"]
        orderer.mod_policy = "Admins"
        _put_value(orderer, "ConsensusType", orderer_pb2.ConsensusType(type="etcdraft").SerializeToString())
        _put_value(
            orderer,
            "BatchSize",
            orderer_pb2.BatchSize(
                max_message_count=500,
                absolute_max_bytes=10 * 1024 * 1024,
                preferred_max_bytes=2 * 1024 * 1024,
            ).SerializeToString(),
        )
        _put_value(orderer, "BatchTimeout", orderer_pb2.BatchTimeout(timeout="2s").SerializeToString())
        for name, rule in (
            ("Readers", "ANY"),
            ("Writers", "ANY"),
            ("Admins", "MAJORITY"),
            ("BlockValidation", "ANY"),
        ):
            _put_implicit(orderer, name, rule, "Writers" if name == "BlockValidation" else name)
        og = orderer.groups["OrdererOrg"]
        og.mod_policy = "Admins"
        _put_value(og, "MSP", self.orderer_org.msp_config())
        oid = self.orderer_org.msp_id
        _put_signature_policy(og, "Readers", 1, [(oid, "member")])
        _put_signature_policy(og, "Writers", 1, [(oid, "member")])
        _put_signature_policy(og, "Admins", 1, [(oid, "admin")])

        app = root.groups["Application"]
        app.mod_policy = "Admins"
        app_caps = configuration_pb2.Capabilities()
        app_caps.capabilities["V2_0"].SetInParent()
        _put_value(app, "Capabilities", app_caps.SerializeToString())
        for name, rule, sub in (
            ("Readers", "ANY", "Readers"),
            ("Writers", "ANY", "Writers"),
            ("Admins", "MAJORITY", "Admins"),
            ("Endorsement", "MAJORITY", "Endorsement"),
            ("LifecycleEndorsement", "MAJORITY", "Endorsement"),
        ):
            _put_implicit(app, name, rule, sub)
        for msp_id, org in self.orgs.items():
            g = app.groups[msp_id]
            g.mod_policy = "Admins"
            _put_value(g, "MSP", org.msp_config())
            _put_signature_policy(g, "Readers", 1, [(msp_id, "admin"), (msp_id, "peer"), (msp_id, "client")])
            _put_signature_policy(g, "Writers", 1, [(msp_id, "admin"), (msp_id, "client")])
            _put_signature_policy(g, "Admins", 1, [(msp_id, "admin")])
            _put_signature_policy(g, "Endorsement", 1, [(msp_id, "peer")])
        return cfg

    def config_envelope(self, *, sequence: int = 0, signed: bool = False) -> bytes:
        """A CONFIG envelope; the genesis one is unsigned (as configtxgen makes it), later ones
        orderer-signed."""
        nonce = os.urandom(24)
        creator = self.orderer.serialized if signed else b""
        tx_id = hashlib.sha256(nonce + creator).hexdigest()
        payload = common_pb2.Payload(
            header=common_pb2.Header(
                channel_header=_channel_header(common_pb2.CONFIG, self.channel, tx_id, self.tick()),
                signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
            ),
            data=configtx_pb2.ConfigEnvelope(config=self.config(sequence)).SerializeToString(),
        ).SerializeToString()
        signature = self.orderer.sign(payload) if signed else b""
        return bytes(common_pb2.Envelope(payload=payload, signature=signature).SerializeToString())

    def genesis_block(self) -> bytes:
        """Block 0: the unsigned genesis config block (its hash is the channel's trust anchor)."""
        return self.block(0, b"", [self.config_envelope()], sign=False)

    # -- transactions
    # -------------------------------------------------------------------------------------------

    def endorser_envelope(
        self,
        *,
        client: TestIdentity,
        endorsers: Sequence[TestIdentity],
        chaincode: str,
        function: str,
        args: Sequence[bytes] = (),
        writes: Mapping[str, bytes] | None = None,
        deletes: Sequence[str] = (),
        reads: Mapping[str, tuple[int, int] | None] | None = None,
        extra_namespaces: Sequence[rwset_pb2.NsReadWriteSet] = (),
        event: tuple[str, bytes] | None = None,
        response_payload: bytes = b"",
        tamper: str = "",
        tamper_index: int = 0,
        tx_id: str | None = None,
    ) -> bytes:
        """A signed ENDORSER_TRANSACTION envelope as a Fabric client assembles it from endorsed proposal
        responses.

        ``deletes`` lists keys the transaction deletes (``KVWrite.is_delete``). ``tamper="writes"`` flips byte
        ``tamper_index`` of the first written value *after* endorsement (the endorsements then cover other
        bytes); ``tamper="payload"`` flips the last payload byte after the client signed. ``tx_id`` overrides the
        correctly derived transaction id.
        """
        nonce = os.urandom(24)
        creator = client.serialized
        tx_id = tx_id or hashlib.sha256(nonce + creator).hexdigest()
        cc_id = chaincode_pb2.ChaincodeID(name=chaincode)
        extension = proposal_pb2.ChaincodeHeaderExtension(chaincode_id=cc_id).SerializeToString()
        channel_header = _channel_header(common_pb2.ENDORSER_TRANSACTION, self.channel, tx_id, self.tick(), extension)
        signature_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString()
        spec = chaincode_pb2.ChaincodeInvocationSpec(
            chaincode_spec=chaincode_pb2.ChaincodeSpec(
                type=chaincode_pb2.ChaincodeSpec.GOLANG,
                chaincode_id=cc_id,
                input=chaincode_pb2.ChaincodeInput(args=[function.encode(), *args]),
            )
        )
        proposal_payload = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString()).SerializeToString()
        kv = kv_rwset_pb2.KVRWSet()
        for key, version in (reads or {}).items():
            r = kv.reads.add(key=key)
            if version is not None:
                r.version.block_num, r.version.tx_num = version
        for key, value in (writes or {}).items():
            kv.writes.add(key=key, value=value)
        for key in deletes:
            kv.writes.add(key=key, is_delete=True)
        txrw = rwset_pb2.TxReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV)
        txrw.ns_rwset.add(namespace=chaincode, rwset=kv.SerializeToString())
        txrw.ns_rwset.extend(extra_namespaces)
        action = proposal_pb2.ChaincodeAction(
            results=txrw.SerializeToString(),
            response=proposal_response_pb2.Response(status=200, payload=response_payload),
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode, version="1.0"),
        )
        if event is not None:
            action.events = chaincode_event_pb2.ChaincodeEvent(
                chaincode_id=chaincode, tx_id=tx_id, event_name=event[0], payload=event[1]
            ).SerializeToString()
        proposal_hash = hashlib.sha256(channel_header + signature_header + proposal_payload).digest()
        prp = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=proposal_hash, extension=action.SerializeToString()
        ).SerializeToString()
        endorsements = [
            proposal_response_pb2.Endorsement(endorser=e.serialized, signature=e.sign(prp + e.serialized))
            for e in endorsers
        ]
        if tamper == "writes":
            prp = _flip_in(prp, next(iter((writes or {"": b"x"}).values())) or b"x", tamper_index)
        cap = transaction_pb2.ChaincodeActionPayload(
            chaincode_proposal_payload=proposal_payload,
            action=transaction_pb2.ChaincodeEndorsedAction(proposal_response_payload=prp, endorsements=endorsements),
        )
        tx = transaction_pb2.Transaction(
            actions=[transaction_pb2.TransactionAction(header=signature_header, payload=cap.SerializeToString())]
        )
        payload = common_pb2.Payload(
            header=common_pb2.Header(channel_header=channel_header, signature_header=signature_header),
            data=tx.SerializeToString(),
        ).SerializeToString()
        signature = client.sign(payload)
        if tamper == "payload":
            payload = payload[:-1] + bytes([payload[-1] ^ 0x01])
        return bytes(common_pb2.Envelope(payload=payload, signature=signature).SerializeToString())

    def commit_definition_envelope(
        self, chaincode: str, *, policy_reference: str = "/Channel/Application/Endorsement", sequence: int = 1
    ) -> bytes:
        """A ``_lifecycle`` CommitChaincodeDefinition transaction endorsed by every organisation's peer."""
        validation = chaincode_definition_pb2.ChaincodeValidationInfo(
            validation_plugin="vscc",
            validation_parameter=peer_policy_pb2.ApplicationPolicy(
                channel_config_policy_reference=policy_reference
            ).SerializeToString(),
        )
        endorsement = chaincode_definition_pb2.ChaincodeEndorsementInfo(version="1.0", endorsement_plugin="escc")
        prefix = f"namespaces/fields/{chaincode}/"
        writes = {
            prefix + "Collections": db_pb2.StateData(Bytes=b"").SerializeToString(),
            prefix + "EndorsementInfo": db_pb2.StateData(Bytes=endorsement.SerializeToString()).SerializeToString(),
            prefix + "Sequence": db_pb2.StateData(Int64=sequence).SerializeToString(),
            prefix + "ValidationInfo": db_pb2.StateData(Bytes=validation.SerializeToString()).SerializeToString(),
        }
        first = next(iter(self.orgs))
        return self.endorser_envelope(
            client=self.clients[first],
            endorsers=list(self.peers.values()),
            chaincode="_lifecycle",
            function="CommitChaincodeDefinition",
            writes=writes,
        )

    # -- blocks
    # -------------------------------------------------------------------------------------------------

    def block(
        self,
        number: int,
        previous_hash: bytes,
        envelopes: Sequence[bytes],
        *,
        validation_codes: Sequence[int] | None = None,
        sign: bool = True,
        last_config: int = 0,
        signer: TestIdentity | None = None,
    ) -> bytes:
        """A serialized block: data hash, orderer signature over ``value ‖ signature_header ‖ header DER``,
        and
        the TRANSACTIONS_FILTER a committing peer writes (all VALID unless ``validation_codes`` is given)."""
        data_hash = block_data_hash(list(envelopes))
        header = common_pb2.BlockHeader(number=number, previous_hash=previous_hash, data_hash=data_hash)
        value = common_pb2.OrdererBlockMetadata(
            last_config=common_pb2.LastConfig(index=last_config)
        ).SerializeToString()
        signatures = common_pb2.Metadata(value=value)
        if sign:
            who = signer or self.orderer
            sig_header = common_pb2.SignatureHeader(creator=who.serialized, nonce=os.urandom(24)).SerializeToString()
            signed = value + sig_header + block_header_der(number, previous_hash, data_hash)
            signatures.signatures.add(signature_header=sig_header, signature=who.sign(signed))
        codes = bytes(validation_codes if validation_codes is not None else [0] * len(envelopes))
        metadata = common_pb2.BlockMetadata(metadata=[signatures.SerializeToString(), b"", codes, b"", b""])
        return bytes(
            common_pb2.Block(
                header=header, data=common_pb2.BlockData(data=list(envelopes)), metadata=metadata
            ).SerializeToString()
        )


def peer_response(peer: TestIdentity, envelope: bytes, validation_code: int = 0) -> bytes:
    """A serialized ``peer.ProposalResponse`` as a peer answers QSCC ``GetTransactionByID``: the
    ``ProcessedTransaction`` in the chaincode response, signed over ``proposal_response_payload ‖
    endorser``."""
    processed = transaction_pb2.ProcessedTransaction(
        transactionEnvelope=common_pb2.Envelope.FromString(envelope), validationCode=validation_code
    )
    action = proposal_pb2.ChaincodeAction(
        response=proposal_response_pb2.Response(status=200, payload=processed.SerializeToString()),
        chaincode_id=chaincode_pb2.ChaincodeID(name="qscc"),
    )
    prp = proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=hashlib.sha256(envelope).digest(), extension=action.SerializeToString()
    ).SerializeToString()
    return bytes(
        proposal_response_pb2.ProposalResponse(
            version=1,
            response=proposal_response_pb2.Response(status=200),
            payload=prp,
            endorsement=proposal_response_pb2.Endorsement(
                endorser=peer.serialized, signature=peer.sign(prp + peer.serialized)
            ),
        ).SerializeToString()
    )


def header_hash_of(block_bytes: bytes) -> bytes:
    """The hash of a serialized block's header (what the next block's ``previous_hash`` must be)."""
    b = common_pb2.Block.FromString(block_bytes)
    return hashlib.sha256(block_header_der(b.header.number, b.header.previous_hash, b.header.data_hash)).digest()


def strip_validation_codes(block_bytes: bytes) -> bytes:
    """The block as an orderer has it (its ledger, its Deliver): no TRANSACTIONS_FILTER, which only a committing
    peer writes."""
    block = common_pb2.Block.FromString(block_bytes)
    block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = b""
    return bytes(block.SerializeToString())


def graft_header(block_bytes: bytes, header_from: bytes) -> bytes:
    """``block_bytes`` with the header of ``header_from``: an attacker's forged channel grafted under a real
    block's header (the header hash is the real one; the data and metadata are the forger's)."""
    forged = common_pb2.Block.FromString(block_bytes)
    forged.header.CopyFrom(common_pb2.Block.FromString(header_from).header)
    return bytes(forged.SerializeToString())


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def blockfile(blocks: Iterable[bytes]) -> bytes:
    """Write serialized blocks as a peer's ``blockfile_NNNNNN`` stores them (``blkstorage`` block
    serialization:
    ``varint(len) ‖ record`` with the header, envelopes and metadata as varint-prefixed fields)."""
    out = bytearray()
    for serialized in blocks:
        b = common_pb2.Block.FromString(serialized)
        record = bytearray(_varint(b.header.number))
        for field_bytes in (b.header.data_hash, b.header.previous_hash):
            record += _varint(len(field_bytes)) + field_bytes
        record += _varint(len(b.data.data))
        for env in b.data.data:
            record += _varint(len(env)) + env
        record += _varint(len(b.metadata.metadata))
        for md in b.metadata.metadata:
            record += _varint(len(md)) + md
        out += _varint(len(record)) + record
    return bytes(out)


def _flip_in(data: bytes, needle: bytes, index: int = 0) -> bytes:
    i = data.find(needle)
    i = len(data) - 1 if i < 0 else i + index % len(needle)
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def build_chain(
    network: TestNetwork,
    *,
    chaincode: str = "records",
    transactions: int,
    per_block: int,
    endorse_with: Sequence[str] | None = None,
) -> list[bytes]:
    """Genesis, a ``_lifecycle`` commit of ``chaincode`` and ``transactions`` PutRecord transactions in
    blocks of
    ``per_block``, all hash-linked and signed; endorsed by the peers of ``endorse_with`` (default:
    every org)."""
    blocks = [network.genesis_block()]
    blocks.append(network.block(1, header_hash_of(blocks[-1]), [network.commit_definition_envelope(chaincode)]))
    orgs = list(endorse_with or network.orgs)
    client = network.clients[orgs[0]]
    endorsers = [network.peers[m] for m in orgs]
    number = 2
    done = 0
    while done < transactions:
        envelopes = []
        for _ in range(min(per_block, transactions - done)):
            key = f"rec-{done:06d}"
            envelopes.append(
                network.endorser_envelope(
                    client=client,
                    endorsers=endorsers,
                    chaincode=chaincode,
                    function="PutRecord",
                    args=[key.encode(), b'{"id":"' + key.encode() + b'"}'],
                    writes={key: b'{"id":"' + key.encode() + b'"}'},
                    event=("RecordStored", b'{"id":"' + key.encode() + b'"}'),
                )
            )
            done += 1
        blocks.append(network.block(number, header_hash_of(blocks[-1]), envelopes))
        number += 1
    return blocks
