"""Evaluation of Fabric policies over a set of signers (``common/cauthdsl``,
``common/policies/implicitmeta.go``).

Signers are identities whose signatures were already verified and whose certificates chain to their MSP,
deduplicated by certificate. A signature policy is evaluated exactly as cauthdsl does: children of an
n-out-of gate
are tried in order, each ``signed_by`` consumes the first unused signer that satisfies its principal, and a
child's
consumption is kept only if the child is satisfied — so one signature never counts twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._model import ChannelConfig, ImplicitMetaPolicy, NOutOf, Principal, SignaturePolicy, SignedBy
from ._msp import ValidatedIdentity, VerificationCache, certificate_der

_MAX_DEPTH = 16


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    """``satisfied``; or, when the policy could not be evaluated, ``error`` says why."""

    satisfied: bool
    error: str = ""


def satisfies_principal(signer: ValidatedIdentity, principal: Principal, cache: VerificationCache) -> bool:
    """Whether a validated signer satisfies an ``MSPPrincipal`` (``msp/mspimpl.go`` satisfiesPrincipal)."""
    if signer.msp_id != principal.msp_id:
        return False
    if principal.kind == "role":
        return principal.role == "member" or principal.role in signer.roles
    if principal.kind == "identity":
        return certificate_der(principal.identity, cache) == signer.certificate_der
    if principal.kind == "ou":
        return principal.organizational_unit in signer.organizational_units
    return False


def _evaluate_rule(
    rule: SignedBy | NOutOf,
    principals: tuple[Principal, ...],
    signers: Sequence[ValidatedIdentity],
    used: list[bool],
    cache: VerificationCache,
) -> bool:
    if isinstance(rule, SignedBy):
        if rule.index >= len(principals):
            return False
        principal = principals[rule.index]
        for i, signer in enumerate(signers):
            if not used[i] and satisfies_principal(signer, principal, cache):
                used[i] = True
                return True
        return False
    verified = 0
    for child in rule.rules:
        trial = list(used)
        if _evaluate_rule(child, principals, signers, trial, cache):
            verified += 1
            used[:] = trial
    return verified >= rule.n


def evaluate_signature_policy(
    policy: SignaturePolicy, signers: Sequence[ValidatedIdentity], cache: VerificationCache
) -> bool:
    """Whether ``signers`` satisfy an n-of-m signature policy."""
    return _evaluate_rule(policy.rule, policy.principals, signers, [False] * len(signers), cache)


def evaluate_policy(
    config: ChannelConfig,
    path: str,
    signers: Sequence[ValidatedIdentity],
    cache: VerificationCache,
    _depth: int = 0,
) -> PolicyOutcome:
    """Evaluate the channel policy at ``path`` (e.g. ``/Channel/Orderer/BlockValidation``) over ``signers``.

    A relative path is resolved under ``/Channel/Application`` as Fabric's policy manager does for chaincode
    references.
    """
    if not path.startswith("/"):
        path = "/Channel/Application/" + path
    if _depth == 0 and config.fingerprint:
        key = (config.fingerprint, path, tuple(s.fingerprint for s in signers))
        cached = cache.policy_outcomes.get(key)
        if isinstance(cached, PolicyOutcome):
            return cached
        outcome = evaluate_policy(config, path, signers, cache, 1)
        cache.policy_outcomes[key] = outcome
        return outcome
    if _depth > _MAX_DEPTH:
        return PolicyOutcome(False, f"policy {path} nests more than {_MAX_DEPTH} implicit-meta levels")
    policy = config.policies.get(path)
    if policy is None:
        return PolicyOutcome(False, f"the channel configuration has no policy {path}")
    if isinstance(policy, SignaturePolicy):
        return PolicyOutcome(evaluate_signature_policy(policy, signers, cache))
    if isinstance(policy, ImplicitMetaPolicy):
        group = path.rsplit("/", 1)[0]
        subs = [
            f"{group}/{g}/{policy.sub_policy}"
            for g in config.groups.get(group, ())
            if f"{group}/{g}/{policy.sub_policy}" in config.policies
        ]
        if policy.rule == "ANY":
            threshold = 1
        elif policy.rule == "ALL":
            threshold = len(subs)
        elif policy.rule == "MAJORITY":
            threshold = len(subs) // 2 + 1
        else:
            return PolicyOutcome(False, f"policy {path} has an unknown implicit-meta rule {policy.rule}")
        if not subs:
            threshold = 0  # Fabric: with no sub-policies, ANY and MAJORITY are trivially met
        met = 0
        for sub in subs:
            outcome = evaluate_policy(config, sub, signers, cache, _depth + 1)
            if outcome.error:
                return outcome
            met += outcome.satisfied
        return PolicyOutcome(met >= threshold)
    return PolicyOutcome(False, f"policy {path} is of type {policy.type_code}, which this verifier cannot evaluate")
