"""Decoding of channel configuration (``common.Config``) and of policies.

Paths follow Fabric's policy manager: the root group is ``/Channel``; an organisation's policies live at
``/Channel/Application/<org group name>/<policy>`` (the group name, which need not equal the MSP id).
"""

from __future__ import annotations

import hashlib

from fabric_protos.common import configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2, msp_principal_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_configuration_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2
from fabric_protos.peer import configuration_pb2 as peer_configuration_pb2
from google.protobuf.message import DecodeError

from vcgate.canonical_schema import Problem

from ._errors import FabricDecodeError
from ._model import (
    ChannelConfig,
    Consenter,
    FabricMSP,
    ImplicitMetaPolicy,
    NodeOUs,
    NOutOf,
    OrdererSettings,
    Organization,
    OUIdentifier,
    Policy,
    Principal,
    SignaturePolicy,
    SignedBy,
    UnsupportedPolicy,
)

ROLE_NAMES = {0: "member", 1: "admin", 2: "client", 3: "peer", 4: "orderer"}
_IMPLICIT_RULES = {0: "ANY", 1: "ALL", 2: "MAJORITY"}
# msp.MSPConfig.type: 0 is FABRIC (X.509); 1 is IDEMIX (decoded by name only).
_FABRIC_MSP_TYPE = 0
_IDEMIX_MSP_TYPE = 1


def _bad(code: str, detail: str) -> FabricDecodeError:
    return FabricDecodeError(Problem(code, "malformed channel configuration", detail))


def _rule(proto: policies_pb2.SignaturePolicy, depth: int = 0) -> SignedBy | NOutOf:
    if depth > 32:
        raise _bad("fabric.bad_policy", "signature policy nested more than 32 levels")
    which = proto.WhichOneof("Type")
    if which == "signed_by":
        return SignedBy(proto.signed_by)
    if which == "n_out_of":
        return NOutOf(proto.n_out_of.n, tuple(_rule(r, depth + 1) for r in proto.n_out_of.rules))
    raise _bad("fabric.bad_policy", "signature policy rule has neither signed_by nor n_out_of")


def _principal(proto: msp_principal_pb2.MSPPrincipal) -> Principal:
    kind = proto.principal_classification
    if kind == msp_principal_pb2.MSPPrincipal.ROLE:
        role = msp_principal_pb2.MSPRole.FromString(proto.principal)
        return Principal("role", role.msp_identifier, role=ROLE_NAMES.get(role.role, f"unknown-{role.role}"))
    if kind == msp_principal_pb2.MSPPrincipal.IDENTITY:
        sid = identities_pb2.SerializedIdentity.FromString(proto.principal)
        return Principal("identity", sid.mspid, identity=bytes(sid.id_bytes))
    if kind == msp_principal_pb2.MSPPrincipal.ORGANIZATION_UNIT:
        ou = msp_principal_pb2.OrganizationUnit.FromString(proto.principal)
        return Principal("ou", ou.msp_identifier, organizational_unit=ou.organizational_unit_identifier)
    return Principal(f"unsupported-{kind}", "")


def decode_signature_policy(data: bytes) -> SignaturePolicy:
    """Decode a serialized ``common.SignaturePolicyEnvelope``."""
    try:
        env = policies_pb2.SignaturePolicyEnvelope.FromString(data)
        principals = tuple(_principal(p) for p in env.identities)
    except DecodeError as exc:
        raise _bad("fabric.bad_policy", f"signature policy envelope does not decode: {exc}") from None
    if not env.HasField("rule"):
        raise _bad("fabric.bad_policy", "signature policy envelope has no rule")
    return SignaturePolicy(_rule(env.rule), principals)


def decode_policy(proto: policies_pb2.Policy) -> Policy:
    """Decode a ``common.Policy`` (signature or implicit-meta; anything else is kept as unsupported)."""
    if proto.type == policies_pb2.Policy.SIGNATURE:
        return decode_signature_policy(proto.value)
    if proto.type == policies_pb2.Policy.IMPLICIT_META:
        try:
            meta = policies_pb2.ImplicitMetaPolicy.FromString(proto.value)
        except DecodeError as exc:
            raise _bad("fabric.bad_policy", f"implicit-meta policy does not decode: {exc}") from None
        return ImplicitMetaPolicy(_IMPLICIT_RULES.get(meta.rule, f"unknown-{meta.rule}"), meta.sub_policy)
    return UnsupportedPolicy(proto.type)


def _ou(proto: msp_config_pb2.FabricOUIdentifier | None) -> OUIdentifier | None:
    if proto is None or not proto.organizational_unit_identifier:
        return None
    return OUIdentifier(proto.organizational_unit_identifier, bytes(proto.certificate))


def decode_msp(data: bytes, where: str) -> FabricMSP:
    """Decode an ``msp.MSPConfig`` value holding a ``msp.FabricMSPConfig``."""
    try:
        outer = msp_config_pb2.MSPConfig.FromString(data)
        if outer.type == _IDEMIX_MSP_TYPE:
            # Idemix (anonymous credential) MSPs are decoded for their name only: their identities cannot be
            # checked by this verifier, so any check that needs one reports ``error``.
            idemix = msp_config_pb2.IdemixMSPConfig.FromString(outer.config)
            return FabricMSP(
                msp_id=idemix.name,
                root_certs=(),
                intermediate_certs=(),
                admins=(),
                revocation_list=(),
                tls_root_certs=(),
                tls_intermediate_certs=(),
                node_ous=NodeOUs(enabled=False),
                organizational_unit_identifiers=(),
                fingerprint=hashlib.sha256(data).digest(),
                msp_type="idemix",
            )
        if outer.type != _FABRIC_MSP_TYPE:
            raise _bad("fabric.unsupported_msp", f"{where}: unknown MSP type {outer.type}")
        cfg = msp_config_pb2.FabricMSPConfig.FromString(outer.config)
    except DecodeError as exc:
        raise _bad("fabric.bad_msp", f"{where}: MSP config does not decode: {exc}") from None
    ous = cfg.fabric_node_ous
    node_ous = NodeOUs(
        enabled=ous.enable,
        client=_ou(ous.client_ou_identifier) if ous.HasField("client_ou_identifier") else None,
        peer=_ou(ous.peer_ou_identifier) if ous.HasField("peer_ou_identifier") else None,
        admin=_ou(ous.admin_ou_identifier) if ous.HasField("admin_ou_identifier") else None,
        orderer=_ou(ous.orderer_ou_identifier) if ous.HasField("orderer_ou_identifier") else None,
    )
    return FabricMSP(
        msp_id=cfg.name,
        root_certs=tuple(bytes(c) for c in cfg.root_certs),
        intermediate_certs=tuple(bytes(c) for c in cfg.intermediate_certs),
        admins=tuple(bytes(c) for c in cfg.admins),
        revocation_list=tuple(bytes(c) for c in cfg.revocation_list),
        tls_root_certs=tuple(bytes(c) for c in cfg.tls_root_certs),
        tls_intermediate_certs=tuple(bytes(c) for c in cfg.tls_intermediate_certs),
        node_ous=node_ous,
        organizational_unit_identifiers=tuple(
            OUIdentifier(o.organizational_unit_identifier, bytes(o.certificate))
            for o in cfg.organizational_unit_identifiers
        ),
        fingerprint=hashlib.sha256(data).digest(),
    )


def _collect_policies(
    group: configtx_pb2.ConfigGroup,
    path: str,
    policies: dict[str, Policy],
    groups: dict[str, tuple[str, ...]],
) -> None:
    groups[path] = tuple(sorted(group.groups.keys()))
    for name, value in group.policies.items():
        policies[f"{path}/{name}"] = decode_policy(value.policy)
    for name, sub in group.groups.items():
        _collect_policies(sub, f"{path}/{name}", policies, groups)


def _orgs(group: configtx_pb2.ConfigGroup | None, where: str) -> tuple[Organization, ...]:
    if group is None:
        return ()
    out = []
    for name in sorted(group.groups.keys()):
        org = group.groups[name]
        if "MSP" not in org.values:
            raise _bad("fabric.bad_msp", f"{where}/{name} has no MSP value")
        msp = decode_msp(org.values["MSP"].value, f"{where}/{name}")
        endpoints: tuple[str, ...] = ()
        if "Endpoints" in org.values:
            endpoints = tuple(configuration_pb2.OrdererAddresses.FromString(org.values["Endpoints"].value).addresses)
        anchors: tuple[str, ...] = ()
        if "AnchorPeers" in org.values:
            ap = peer_configuration_pb2.AnchorPeers.FromString(org.values["AnchorPeers"].value)
            anchors = tuple(f"{a.host}:{a.port}" for a in ap.anchor_peers)
        out.append(Organization(name, msp, endpoints, anchors))
    return tuple(out)


def _capabilities(group: configtx_pb2.ConfigGroup | None) -> tuple[str, ...]:
    if group is None or "Capabilities" not in group.values:
        return ()
    return tuple(sorted(configuration_pb2.Capabilities.FromString(group.values["Capabilities"].value).capabilities))


def _orderer(group: configtx_pb2.ConfigGroup | None) -> OrdererSettings | None:
    if group is None:
        return None
    values = group.values
    ctype = orderer_configuration_pb2.ConsensusType()
    if "ConsensusType" in values:
        ctype.ParseFromString(values["ConsensusType"].value)
    batch = orderer_configuration_pb2.BatchSize()
    if "BatchSize" in values:
        batch.ParseFromString(values["BatchSize"].value)
    timeout = ""
    if "BatchTimeout" in values:
        timeout = orderer_configuration_pb2.BatchTimeout.FromString(values["BatchTimeout"].value).timeout
    consenters: list[Consenter] = []
    if ctype.type == "etcdraft" and ctype.metadata:
        meta = etcdraft_pb2.ConfigMetadata.FromString(ctype.metadata)
        consenters = [
            Consenter(c.host, c.port, bytes(c.client_tls_cert), bytes(c.server_tls_cert)) for c in meta.consenters
        ]
    if "Orderers" in values:
        # Fabric 3 BFT: consenters carry their id and signing identity (used with identifier headers).
        orderers = configuration_pb2.Orderers.FromString(values["Orderers"].value)
        consenters = [
            Consenter(
                c.host,
                c.port,
                bytes(c.client_tls_cert),
                bytes(c.server_tls_cert),
                id=c.id,
                msp_id=c.msp_id,
                identity=bytes(c.identity),
            )
            for c in orderers.consenter_mapping
        ]
    state = orderer_configuration_pb2.ConsensusType.State.Name(ctype.state)
    return OrdererSettings(
        consensus_type=ctype.type,
        consensus_state=state,
        max_message_count=batch.max_message_count,
        absolute_max_bytes=batch.absolute_max_bytes,
        preferred_max_bytes=batch.preferred_max_bytes,
        batch_timeout=timeout,
        consenters=tuple(consenters),
        capabilities=_capabilities(group),
    )


def decode_config(config_bytes: bytes) -> ChannelConfig:
    """Decode a serialized ``common.Config`` into a :class:`ChannelConfig`."""
    try:
        config = configtx_pb2.Config.FromString(config_bytes)
        root = config.channel_group
        orderer_group = root.groups.get("Orderer", None)
        app_group = root.groups.get("Application", None)
        policies: dict[str, Policy] = {}
        groups: dict[str, tuple[str, ...]] = {}
        _collect_policies(root, "/Channel", policies, groups)
        hashing = ""
        if "HashingAlgorithm" in root.values:
            hashing = configuration_pb2.HashingAlgorithm.FromString(root.values["HashingAlgorithm"].value).name
        addresses: tuple[str, ...] = ()
        if "OrdererAddresses" in root.values:
            addresses = tuple(
                configuration_pb2.OrdererAddresses.FromString(root.values["OrdererAddresses"].value).addresses
            )
        return ChannelConfig(
            sequence=config.sequence,
            orderer_orgs=_orgs(orderer_group, "/Channel/Orderer"),
            application_orgs=_orgs(app_group, "/Channel/Application"),
            policies=policies,
            groups=groups,
            orderer=_orderer(orderer_group),
            channel_capabilities=_capabilities(root),
            application_capabilities=_capabilities(app_group),
            hashing_algorithm=hashing,
            orderer_addresses=addresses,
            raw=config_bytes,
            fingerprint=hashlib.sha256(config_bytes).digest(),
        )
    except DecodeError as exc:
        raise _bad("fabric.bad_config", f"channel configuration does not decode: {exc}") from None
