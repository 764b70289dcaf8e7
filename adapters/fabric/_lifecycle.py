"""Chaincode definitions committed through the ``_lifecycle`` system chaincode (Fabric ≥ 2.0).

``CommitChaincodeDefinition`` writes the definition into ``_lifecycle``'s public state, one key per field
(``core/chaincode/lifecycle/lifecycle.go``): ``namespaces/fields/<cc>/Sequence`` (StateData.Int64),
``.../EndorsementInfo`` (ChaincodeEndorsementInfo), ``.../ValidationInfo`` (ChaincodeValidationInfo, whose
``validation_parameter`` is the endorsement policy as a ``peer.ApplicationPolicy``) and ``.../Collections``
(CollectionConfigPackage).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fabric_protos.peer import collection_pb2, policy_pb2
from fabric_protos.peer.lifecycle import chaincode_definition_pb2, db_pb2
from google.protobuf.message import DecodeError

from vcgate.canonical_schema import Problem

from ._config import decode_signature_policy
from ._errors import FabricDecodeError
from ._model import KVWrite, SignaturePolicy

LIFECYCLE_NAMESPACE = "_lifecycle"
IMPLICIT_COLLECTION_PREFIX = "_implicit_org_"
_FIELDS_PREFIX = "namespaces/fields/"


@dataclass(frozen=True, slots=True)
class ApplicationPolicy:
    """A ``peer.ApplicationPolicy``: an explicit signature policy or a reference to a channel policy path."""

    signature_policy: SignaturePolicy | None = None
    channel_policy_reference: str = ""


@dataclass(frozen=True, slots=True)
class CollectionConfig:
    """A private data collection of a chaincode (``peer.StaticCollectionConfig``)."""

    name: str
    member_orgs_policy: SignaturePolicy | None
    required_peer_count: int
    maximum_peer_count: int
    block_to_live: int
    member_only_read: bool
    member_only_write: bool
    endorsement_policy: ApplicationPolicy | None


@dataclass(frozen=True, slots=True)
class ChaincodeDefinition:
    """A committed chaincode definition and where it was committed."""

    name: str
    sequence: int
    version: str
    init_required: bool
    endorsement_plugin: str
    validation_plugin: str
    endorsement_policy: ApplicationPolicy | None
    collections: tuple[CollectionConfig, ...]
    committed_at: tuple[int, int]
    """(block number, transaction index) of the commit."""


def _bad(detail: str) -> FabricDecodeError:
    return FabricDecodeError(Problem("fabric.bad_chaincode_definition", "malformed chaincode definition", detail))


def decode_application_policy(data: bytes) -> ApplicationPolicy:
    """Decode a serialized ``peer.ApplicationPolicy``."""
    try:
        pol = policy_pb2.ApplicationPolicy.FromString(data)
    except DecodeError as exc:
        raise _bad(f"application policy does not decode: {exc}") from None
    which = pol.WhichOneof("Type")
    if which == "signature_policy":
        return ApplicationPolicy(signature_policy=decode_signature_policy(pol.signature_policy.SerializeToString()))
    if which == "channel_config_policy_reference":
        return ApplicationPolicy(channel_policy_reference=pol.channel_config_policy_reference)
    raise _bad("application policy names neither a signature policy nor a channel policy")


def _collections(data: bytes) -> tuple[CollectionConfig, ...]:
    pkg = collection_pb2.CollectionConfigPackage.FromString(data)
    out = []
    for c in pkg.config:
        s = c.static_collection_config
        member = None
        if s.member_orgs_policy.WhichOneof("payload") == "signature_policy":
            member = decode_signature_policy(s.member_orgs_policy.signature_policy.SerializeToString())
        endorsement = None
        if s.HasField("endorsement_policy"):
            endorsement = decode_application_policy(s.endorsement_policy.SerializeToString())
        out.append(
            CollectionConfig(
                name=s.name,
                member_orgs_policy=member,
                required_peer_count=s.required_peer_count,
                maximum_peer_count=s.maximum_peer_count,
                block_to_live=s.block_to_live,
                member_only_read=s.member_only_read,
                member_only_write=s.member_only_write,
                endorsement_policy=endorsement,
            )
        )
    return tuple(out)


def definitions_from_writes(writes: Iterable[KVWrite], committed_at: tuple[int, int]) -> dict[str, ChaincodeDefinition]:
    """Chaincode definitions written by one valid ``_lifecycle`` transaction (public writes only)."""
    fields: dict[str, dict[str, bytes]] = {}
    for w in writes:
        if w.is_delete or not w.key.startswith(_FIELDS_PREFIX):
            continue
        rest = w.key[len(_FIELDS_PREFIX) :]
        name, _, field = rest.rpartition("/")
        if name:
            fields.setdefault(name, {})[field] = w.value
    out: dict[str, ChaincodeDefinition] = {}
    for name, f in fields.items():
        if "Sequence" not in f or "ValidationInfo" not in f:
            continue
        try:
            sequence = db_pb2.StateData.FromString(f["Sequence"]).Int64
            endorsement = chaincode_definition_pb2.ChaincodeEndorsementInfo.FromString(
                db_pb2.StateData.FromString(f.get("EndorsementInfo", b"")).Bytes
            )
            validation = chaincode_definition_pb2.ChaincodeValidationInfo.FromString(
                db_pb2.StateData.FromString(f["ValidationInfo"]).Bytes
            )
            collections = _collections(db_pb2.StateData.FromString(f.get("Collections", b"")).Bytes)
        except DecodeError as exc:
            raise _bad(f"definition of chaincode {name!r} does not decode: {exc}") from None
        policy = decode_application_policy(validation.validation_parameter) if validation.validation_parameter else None
        out[name] = ChaincodeDefinition(
            name=name,
            sequence=sequence,
            version=endorsement.version,
            init_required=endorsement.init_required,
            endorsement_plugin=endorsement.endorsement_plugin,
            validation_plugin=validation.validation_plugin,
            endorsement_policy=policy,
            collections=collections,
            committed_at=committed_at,
        )
    return out


def collection_of(definition: ChaincodeDefinition | None, name: str) -> CollectionConfig | None:
    """The named collection of a definition, if any."""
    if definition is None:
        return None
    return next((c for c in definition.collections if c.name == name), None)


def merge_definitions(
    current: Mapping[str, ChaincodeDefinition], new: Mapping[str, ChaincodeDefinition]
) -> dict[str, ChaincodeDefinition]:
    """Definitions after a commit: a new definition replaces the earlier one of the same chaincode."""
    merged = dict(current)
    merged.update(new)
    return merged
