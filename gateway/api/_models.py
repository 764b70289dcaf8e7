"""Request and response shapes of the HTTP API (W3C VC-API and the traceability-interop profile).

Requests are parsed into these frozen models at the boundary (STYLE.md §2); responses are documented with them in
the OpenAPI document and built as plain JSON by the routes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


# --- requests ----------------------------------------------------------------------------------------------


class VerifyOptions(_Open):
    """VC-API verification options. vcgate always runs every check; unknown options are accepted and ignored."""


class VerifyCredentialRequest(_Frozen):
    """``POST /credentials/verify``: a JSON-LD credential, or a compact ``vc+jwt`` string."""

    verifiableCredential: dict[str, Any] | str  # noqa: N815 - VC-API member name
    options: VerifyOptions | None = None


class CredentialStatusOption(_Frozen):
    """Ask the gateway to add a Bitstring Status List entry at issuance."""

    type: Literal["BitstringStatusListEntry"] = "BitstringStatusListEntry"
    statusPurpose: Literal["revocation", "suspension"] = "revocation"  # noqa: N815


class IssueOptions(_Frozen):
    """VC-API issuance options."""

    #: A suite the issuer signs with (default: its first; the gateway: eddsa-rdfc-2022 or eddsa-jcs-2022).
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", "ecdsa-jcs-2019"] | None = None
    credentialId: str | None = Field(default=None, max_length=2048)  # noqa: N815
    credentialStatus: CredentialStatusOption | None = None  # noqa: N815
    #: Chain the new proof to these proofs of the credential (their ``id``s); without it a proof is added to the
    #: credential's proof set.
    previousProof: str | list[str] | None = None  # noqa: N815


class IssueCredentialRequest(_Frozen):
    """``POST /credentials/issue``: an unsigned credential; its issuer is (or is set to) the gateway's DID."""

    credential: dict[str, Any]
    options: IssueOptions | None = None


class PresentationOptions(_Frozen):
    """The ``domain`` and ``challenge`` the presentation's proof must carry."""

    domain: str | None = None
    challenge: str | None = None


class VerifyPresentationRequest(_Frozen):
    """``POST /presentations/verify``: a JSON-LD presentation (Data Integrity proof, or an
    ``EnvelopedVerifiablePresentation``), or a compact ``vp+jwt`` string."""

    verifiablePresentation: dict[str, Any] | str  # noqa: N815
    options: PresentationOptions | None = None


class StatusChange(_Frozen):
    """One status change: ``status`` ``"1"`` sets the entry (revoked/suspended), ``"0"`` clears it."""

    type: str = Field(max_length=100)
    status: Literal["0", "1"]
    statusPurpose: Literal["revocation", "suspension"] | None = None  # noqa: N815


class UpdateStatusRequest(_Frozen):
    """``POST /credentials/status`` (traceability-interop / VC-API ``updateCredentialStatus``)."""

    credentialId: str = Field(min_length=1, max_length=2048)  # noqa: N815
    credentialStatus: list[StatusChange] = Field(min_length=1, max_length=4)  # noqa: N815


class AvailableRequest(_Frozen):
    """``POST /presentations/available``: an optional query describing what will be presented."""

    query: list[dict[str, Any]] | dict[str, Any] | None = None


class SubmissionRequest(_Frozen):
    """``POST /presentations/submissions``: a presentation signed by the caller's party with a challenge from
    ``/presentations/available``."""

    verifiablePresentation: dict[str, Any]  # noqa: N815


# --- responses ---------------------------------------------------------------------------------------------


class ProblemJson(_Open):
    """An RFC 9457 problem: ``type`` (vcgate's namespace + ``code``), ``title``, ``status``, ``detail``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


class CheckProblem(_Open):
    """The problem of a failed or errored check."""

    type: str
    code: str
    title: str
    detail: str
    pointer: str | None = None


class CheckJson(_Frozen):
    """One named check of the pipeline (``canonical_schema.Check``): the problems behind a failure or error (a passed
    check may carry warnings), an optional human detail."""

    name: str
    stage: str
    status: Literal["passed", "failed", "error", "not_applicable"]
    detail: str | None = None
    problems: list[CheckProblem] | None = None


class VerificationJson(_Frozen):
    """A credential's verification result."""

    verified: bool
    status: Literal["verified", "invalid", "error"]
    format: Literal["ldp", "jwt", "unknown"]
    issuer: str | None
    credentialId: Any = None  # noqa: N815 - whatever the credential's id was
    checkedAt: str | None  # noqa: N815
    checks: list[CheckJson]
    problemDetails: list[CheckProblem]  # noqa: N815


class VerificationProblemJson(ProblemJson):
    """A verification that did not succeed (400 invalid, 503 undecided): the result as problem details."""

    verified: bool
    checks: list[CheckJson]
    problemDetails: list[CheckProblem]  # noqa: N815


class PresentationVerificationJson(_Frozen):
    """A presentation's verification result, with one result per embedded credential."""

    verified: bool
    status: Literal["verified", "invalid", "error"]
    holder: str | None
    checks: list[CheckJson]
    problemDetails: list[CheckProblem]  # noqa: N815
    credentialResults: list[VerificationJson]  # noqa: N815


class IssueResponse(_Frozen):
    """The signed credential."""

    verifiableCredential: dict[str, Any]  # noqa: N815


class StatusChangeResult(_Frozen):
    """An entry after the change."""

    type: str
    statusPurpose: str  # noqa: N815
    status: Literal["0", "1"]
    statusListCredential: str  # noqa: N815
    statusListIndex: str  # noqa: N815


class UpdateStatusResponse(_Frozen):
    """The credential's status entries after the update."""

    credentialId: str  # noqa: N815
    credentialStatus: list[StatusChangeResult]  # noqa: N815


class AvailableResponse(_Frozen):
    """Where and how to present: bind the presentation's proof to this ``domain`` and ``challenge``."""

    domain: str
    challenge: str
    expires: str
    query: list[dict[str, Any]] | dict[str, Any] | None = None


class SubmissionResponse(_Frozen):
    """An accepted submission: the presentation verified and its credentials stored."""

    submissionId: str  # noqa: N815
    verified: bool
    holder: str
    credentialIds: list[str]  # noqa: N815


class TokenResponse(_Frozen):
    """RFC 6749 §5.1 access token response."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class HealthResponse(_Frozen):
    """Liveness and the gateway's identity."""

    status: Literal["ok"]
    did: str
    version: str


__all__ = [
    "AvailableRequest",
    "AvailableResponse",
    "HealthResponse",
    "IssueCredentialRequest",
    "IssueResponse",
    "PresentationVerificationJson",
    "ProblemJson",
    "StatusChange",
    "SubmissionRequest",
    "SubmissionResponse",
    "TokenResponse",
    "UpdateStatusRequest",
    "UpdateStatusResponse",
    "VerificationJson",
    "VerificationProblemJson",
    "VerifyCredentialRequest",
    "VerifyPresentationRequest",
]
