"""Issuing through the VC-API: ``POST /credentials/issue`` (the gateway, as its did:web) and
``POST /issuers/{name}/credentials/issue`` (the issuer instances of the ``issuers`` file: did:key or did:web,
Ed25519, P-256 or P-384, Data Integrity or vc+jwt).

Order of the answers (the W3C suites rely on it): the request is validated completely - issuer, options, data
model, contexts, strict terms, validity, any proofs already present - before a reused id is reported (409), and
only then is a status entry allocated and the credential signed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vcgate.canonical_schema import CREDENTIALS_V2_URL, Check

from .._issuing import IssuerFormat, IssuerInstance, with_suite_context
from ..verification._jose import JoseError, sign_vc_jwt
from ..verification._keys import KeyPair
from ..verification._proofs import SUITES, ProofError, sign
from ..verification._status import StatusList
from ..verification._verify import VerificationResult, issuer_id
from ._models import IssueCredentialRequest
from ._problems import ApiError
from ._records import DuplicateCredentialError
from ._status_lists import StatusListConflictError

if TYPE_CHECKING:
    from ._app import ApiContext

__all__ = ["ENVELOPED_VC_MEDIA_TYPE", "Signer", "gateway_signer", "instance_signer", "issue"]

#: The data: URL media type of an enveloped vc+jwt (VC-JOSE-COSE §3.1.1, VC 2.0 §4.13.1).
ENVELOPED_VC_MEDIA_TYPE = "application/vc+jwt"
_GATEWAY_SUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")


@dataclass(frozen=True)
class Signer:
    """Who signs a request: the gateway (``name`` None) or an issuer instance."""

    name: str | None
    key: KeyPair
    suites: tuple[str, ...]
    format: IssuerFormat = "ldp"

    @property
    def did(self) -> str:
        """The issuer DID credentials must name."""
        return self.key.controller


def gateway_signer(key: KeyPair) -> Signer:
    """The gateway itself (witness mode): its did:web key, the EdDSA suites."""
    return Signer(None, key, _GATEWAY_SUITES)


def instance_signer(instance: IssuerInstance) -> Signer:
    """A configured issuer instance."""
    return Signer(instance.name, instance.key, instance.suites, instance.format)


def _fill_issuer(credential: dict[str, Any], signer: Signer, ctx: ApiContext) -> None:
    policy = ctx.verifier.policy
    if "issuer" not in credential:
        if not policy.fill_missing_issuer:
            raise ApiError(
                400,
                "ISSUER_MISSING",
                "Issuer missing",
                f"the credential has no issuer (policy {policy.name!r} does not fill it in); name {signer.did}",
            )
        credential["issuer"] = signer.did
        return
    named = issuer_id(credential)
    if named != signer.did:
        who = "this gateway issues only" if signer.name is None else f"issuer {signer.name!r} issues only"
        raise ApiError(
            400,
            "ISSUER_NOT_GATEWAY" if signer.name is None else "ISSUER_MISMATCH",
            "Issuer must be the signer",
            f"{who} as {signer.did}; the credential names {named!r}",
        )


def _suite(body: IssueCredentialRequest, signer: Signer) -> str:
    wanted = body.options.cryptosuite if body.options else None
    if signer.format == "vc+jwt":
        if wanted is not None:
            raise ApiError(400, "CRYPTOSUITE_UNSUPPORTED", "No cryptosuite", "this issuer secures with vc+jwt")
        return ""
    suite = wanted or signer.suites[0]
    if suite not in signer.suites:
        raise ApiError(
            400,
            "CRYPTOSUITE_UNSUPPORTED",
            "Cryptosuite not offered",
            f"{suite!r}: this issuer signs with {', '.join(signer.suites)}",
        )
    return suite


def _credential_id(request: Request, credential: dict[str, Any], body: IssueCredentialRequest) -> str:
    wanted_id = body.options.credentialId if body.options else None
    if wanted_id and "id" in credential and credential["id"] != wanted_id:
        raise ApiError(400, "CREDENTIAL_ID_CONFLICT", "Conflicting ids", "options.credentialId differs from id")
    if not isinstance(credential.get("id", ""), str):
        raise ApiError(400, "CREDENTIAL_ID_INVALID", "Invalid id", "the credential's id must be a string")
    credential_id = str(credential.get("id") or wanted_id or f"urn:uuid:{uuid.uuid4()}")
    request.state.audit_target = credential_id[:2048]
    if len(credential_id) > 2048:
        raise ApiError(400, "CREDENTIAL_ID_INVALID", "Invalid id", "the credential's id is too long")
    return credential_id


def _precheck(credential: dict[str, Any], ctx: ApiContext, signer: Signer) -> None:
    """The verification stages before signing, so the gateway never signs what it would refuse to verify."""
    pre = ctx.verifier.check_document(credential, at=ctx.now(), proof_required=False)
    policy = ctx.verifier.policy

    def waived(c: Check) -> bool:
        code = c.problem.code if c.problem else ""
        # Proofs already present may be a co-signer's: the issuer's own proof is about to be added.
        if code == "ISSUER_KEY_MISMATCH":
            return True
        return code == "EXPIRED" and policy.issue_expired

    checks = tuple(c for c in pre.checks if not (c.status == "failed" and waived(c)))
    result = VerificationResult(checks, pre.format, pre.credential, pre.issuer, pre.checked_at)
    if result.status == "invalid":
        from ._app import _verification_response

        _verification_response(result, "credential")
    if "proof" in credential and signer.format == "vc+jwt":
        raise ApiError(400, "CREDENTIAL_HAS_PROOF", "Already signed", "send the credential without a proof")


def _add_status(credential: dict[str, Any], body: IssueCredentialRequest, ctx: ApiContext) -> tuple[str, int] | None:
    if not (body.options and body.options.credentialStatus):
        return None
    purpose = body.options.credentialStatus.statusPurpose
    try:
        status = ctx.status_lists.allocate(purpose)
    except StatusListConflictError as exc:
        raise ApiError(503, "STATUS_BUSY", "Status lists busy", str(exc)) from None
    url = ctx.identity.status_list_url(status[0])
    credential["credentialStatus"] = StatusList.create(url).entry(status[1], purpose)
    return status


def _check_status_option(credential: dict[str, Any], body: IssueCredentialRequest) -> None:
    if not (body.options and body.options.credentialStatus):
        return
    ctx_list = credential.get("@context")
    if not (isinstance(ctx_list, list) and ctx_list[:1] == [CREDENTIALS_V2_URL]):
        raise ApiError(
            400,
            "STATUS_REQUIRES_VC2",
            "Status needs a VC 2.0 credential",
            "Bitstring Status List entries are added to VC 2.0 credentials only",
        )
    if "credentialStatus" in credential:
        raise ApiError(400, "STATUS_CONFLICT", "Status given twice", "credentialStatus is already set")


def _secure(
    credential: dict[str, Any], body: IssueCredentialRequest, signer: Signer, suite: str, ctx: ApiContext
) -> Any:
    now = ctx.now()
    if signer.format == "vc+jwt":
        try:
            token = sign_vc_jwt(credential, signer.key)
        except JoseError as exc:
            raise ApiError(400, "CANNOT_SIGN", "Cannot sign", str(exc)) from None
        return {
            "@context": [CREDENTIALS_V2_URL],
            "type": "EnvelopedVerifiableCredential",
            "id": f"data:{ENVELOPED_VC_MEDIA_TYPE},{token}",
        }
    previous = body.options.previousProof if body.options else None
    try:
        return sign(credential, signer.key, suite=suite, created=now, previous_proof=previous)
    except ProofError as exc:
        raise ApiError(400, "CANNOT_SIGN", "Cannot sign", str(exc)) from None


def issue(request: Request, body: IssueCredentialRequest, ctx: ApiContext, party: str, signer: Signer) -> Response:
    """Validate, then sign ``body.credential`` as ``signer`` for ``party``: 201 with the verifiable credential."""
    from ._app import _json

    credential = dict(body.credential)
    _fill_issuer(credential, signer, ctx)
    suite = _suite(body, signer)
    if suite in SUITES:
        credential = with_suite_context(credential, suite)
    credential["id"] = _credential_id(request, credential, body)
    _check_status_option(credential, body)
    _precheck(credential, ctx, signer)
    if ctx.store.exists(credential["id"]):
        raise ApiError(409, "CREDENTIAL_EXISTS", "Credential exists", f"{credential['id']} was issued before")
    status = _add_status(credential, body, ctx)
    secured = _secure(credential, body, signer, suite, ctx)
    try:
        ctx.store.add_issued(
            credential if signer.format == "vc+jwt" else secured,
            party=party,
            at=ctx.now(),
            status=status,
            original=secured if signer.format == "vc+jwt" else None,
        )
    except DuplicateCredentialError as exc:
        raise ApiError(409, "CREDENTIAL_EXISTS", "Credential exists", str(exc)) from None
    return _json({"verifiableCredential": secured}, 201)
