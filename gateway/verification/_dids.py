"""DID resolution: did:key, did:jwk, did:web, and methods plugged in through the ``vcgate.did_methods`` entry points.

Resolution is the one place verification touches the network (did:web, ledger-based methods). It is injected into
verification as a :class:`DidResolver`; a resolver only ever contacts what its methods are configured to contact.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    import httpx

from vcgate.canonical_schema import (
    DecodedPublicKey,
    InputError,
    VcgateError,
    b64url_decode,
    public_key_from_jwk,
    public_key_from_multibase,
)

#: Largest DID document accepted from the network.
MAX_DID_DOCUMENT_BYTES = 256 * 1024

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JWK_CONTEXT = "https://w3id.org/security/jwk/v1"


class DidResolutionError(VcgateError):
    """A DID could not be resolved.

    ``malformed`` is true when the DID or what it names is itself wrong (bad encoding, no such verification
    method, an unusable key): a credential relying on it is invalid. Otherwise resolution could not be completed
    (unsupported method, not found, network): a verifier cannot decide. ``transient`` is true when trying again
    later may succeed.
    """

    def __init__(self, did: str, reason: str, *, transient: bool = False, malformed: bool = False) -> None:
        super().__init__(f"cannot resolve {did!r}: {reason}")
        self.did = did
        self.reason = reason
        self.transient = transient
        self.malformed = malformed


@runtime_checkable
class DidMethod(Protocol):
    """A DID method resolver: ``method`` is the method name (``key``, ``web``, ``ethr``…)."""

    method: str

    def resolve(self, did: str) -> dict[str, Any]:
        """Return the DID document, or raise :class:`DidResolutionError`."""
        ...


def _multikey_document(did: str, multibase: str) -> dict[str, Any]:
    vm_id = f"{did}#{multibase}"
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [{"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase}],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }


class DidKeyMethod:
    """did:key (Ed25519, P-256, P-384, secp256k1): the document is derived from the key itself."""

    method = "key"

    def resolve(self, did: str) -> dict[str, Any]:
        """Derive the DID document of a did:key."""
        multibase = did.removeprefix("did:key:")
        if not multibase.startswith("z"):
            raise DidResolutionError(did, "did:key must use base58btc multibase ('z…')", malformed=True)
        try:
            public_key_from_multibase(multibase)
        except InputError as exc:
            raise DidResolutionError(did, str(exc), malformed=True) from None
        return _multikey_document(did, multibase)


class DidJwkMethod:
    """did:jwk: base64url of a public JWK; one verification method ``#0``."""

    method = "jwk"

    def resolve(self, did: str) -> dict[str, Any]:
        """Derive the DID document of a did:jwk."""
        try:
            jwk = json.loads(b64url_decode(did.removeprefix("did:jwk:")))
            if not isinstance(jwk, dict) or "d" in jwk:
                raise InputError("did:jwk must encode a public JWK object")
            public_key_from_jwk(jwk)
        except (InputError, ValueError) as exc:
            raise DidResolutionError(did, f"invalid did:jwk: {exc}", malformed=True) from None
        vm_id = f"{did}#0"
        return {
            "@context": [DID_CONTEXT, JWK_CONTEXT],
            "id": did,
            "verificationMethod": [{"id": vm_id, "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}],
            "authentication": [vm_id],
            "assertionMethod": [vm_id],
            "capabilityInvocation": [vm_id],
            "capabilityDelegation": [vm_id],
        }


def did_web_url(did: str, *, allow_http_localhost: bool = False) -> str:
    """The URL of a did:web document (DID Web method §3.2): ``did:web:host%3Aport:path`` → ``https://host:port/path/did.json``."""
    rest = did.removeprefix("did:web:")
    if not rest or any(c in rest for c in "/?#"):
        raise DidResolutionError(did, "malformed did:web identifier", malformed=True)
    parts = rest.split(":")
    host = unquote(parts[0])
    if not host or any(c in host for c in "@/\\ "):
        raise DidResolutionError(did, "malformed did:web host", malformed=True)
    path = "/".join(quote(unquote(p), safe="") for p in parts[1:])
    scheme = "https"
    hostname = host.split(":", 1)[0]
    if allow_http_localhost and hostname in ("localhost", "127.0.0.1"):
        scheme = "http"
    return f"{scheme}://{host}/{path}/did.json" if path else f"{scheme}://{host}/.well-known/did.json"


class DidWebMethod:
    """did:web over HTTPS with httpx; documents cached for ``ttl`` seconds.

    ``unsafe_allow_http_localhost`` allows plain http for localhost / 127.0.0.1 only (tests and local demos); it is
    logged every time it is used.
    """

    method = "web"

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        ttl: float = 300.0,
        unsafe_allow_http_localhost: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # httpx is imported only where a fetch happens: the verification core itself does no I/O.
        import httpx

        self._client = client or httpx.Client(timeout=10.0, follow_redirects=False)
        self._ttl = ttl
        self._unsafe_http = unsafe_allow_http_localhost
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def resolve(self, did: str) -> dict[str, Any]:
        """Fetch (or take from the cache) and check the DID document."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(did)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        url = did_web_url(did, allow_http_localhost=self._unsafe_http)
        if url.startswith("http://"):
            import logging

            logging.getLogger("vcgate.dids").warning("unsafe: resolving %s over plain http (%s)", did, url)
        try:
            with self._client.stream("GET", url, headers={"Accept": "application/did+json, application/json"}) as r:
                if r.status_code == 404:
                    raise DidResolutionError(did, f"{url} answered 404 (no DID document)")
                if r.status_code >= 400:
                    raise DidResolutionError(did, f"{url} answered HTTP {r.status_code}", transient=True)
                body = b""
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DID_DOCUMENT_BYTES:
                        raise DidResolutionError(did, f"DID document larger than {MAX_DID_DOCUMENT_BYTES} bytes")
        except _http_error() as exc:
            raise DidResolutionError(did, f"fetching {url} failed: {exc}", transient=True) from None
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DidResolutionError(did, f"DID document at {url} is not JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("id") != did:
            raise DidResolutionError(did, "the DID document's id does not equal the DID")
        with self._lock:
            self._cache[did] = (now, doc)
        return doc


@dataclass(frozen=True)
class VerificationMethod:
    """A verification method from a DID document, with its decoded public key."""

    id: str
    type: str
    controller: str
    public_key: DecodedPublicKey
    document: Mapping[str, Any]


_KEY_VM_CACHE_SIZE = 4096


class DidResolver:
    """Resolves DIDs through registered methods; the one injectable seam between verification and the network."""

    def __init__(self, methods: Mapping[str, DidMethod] | None = None) -> None:
        self._methods: dict[str, DidMethod] = dict(methods or {})
        # did:key documents are derived from the key itself (pure), so a successful dereference of a did:key URL
        # can be memoised by (URL, relationship). Only the built-in DidKeyMethod is memoised - a replacement
        # method may consult anything - and only successes: failures take the uncached path every time.
        self._key_vm_cache: dict[tuple[str, str | None], VerificationMethod] = {}

    @classmethod
    def offline(cls) -> DidResolver:
        """did:key and did:jwk only: nothing is fetched."""
        return cls({"key": DidKeyMethod(), "jwk": DidJwkMethod()})

    @classmethod
    def default(cls, *, web: DidWebMethod | None = None, load_plugins: bool = True) -> DidResolver:
        """did:key, did:jwk, did:web and every method registered under the ``vcgate.did_methods`` entry points."""
        resolver = cls.offline()
        resolver.register(web or DidWebMethod())
        if load_plugins:
            for ep in entry_points(group="vcgate.did_methods"):
                try:
                    factory = ep.load()
                    method = factory()
                except Exception as exc:  # a broken plugin must name itself, not crash resolution of others
                    if isinstance(exc, ModuleNotFoundError) and ep.extras:
                        continue  # it needs its package's optional extra (`vcgate[ethereum]`): not installed
                    dist = ep.dist.name if ep.dist else "?"
                    raise VcgateError(
                        f"DID method plugin {ep.name!r} from package {dist!r} ({ep.value}) failed to load: {exc}"
                    ) from exc
                if not isinstance(method, DidMethod):
                    dist = ep.dist.name if ep.dist else "?"
                    raise VcgateError(
                        f"DID method plugin {ep.name!r} from package {dist!r} does not provide "
                        "`method` and `resolve(did)`"
                    )
                resolver.register(method)
        return resolver

    def register(self, method: DidMethod) -> None:
        """Add or replace the resolver of one DID method."""
        self._methods[method.method] = method
        self._key_vm_cache.clear()

    @property
    def methods(self) -> tuple[str, ...]:
        """The DID methods this resolver handles."""
        return tuple(sorted(self._methods))

    def resolve(self, did: str) -> dict[str, Any]:
        """Resolve a DID (no fragment) to its DID document."""
        if not isinstance(did, str) or not did.startswith("did:") or did.count(":") < 2:
            raise DidResolutionError(str(did), "not a DID", malformed=True)
        method = did.split(":", 2)[1]
        impl = self._methods.get(method)
        if impl is None:
            raise DidResolutionError(did, f"DID method {method!r} is not supported (have: {', '.join(self.methods)})")
        return impl.resolve(did)

    def verification_method(self, vm_url: str, relationship: str | None = None) -> VerificationMethod:
        """Dereference a DID URL to a verification method; if ``relationship`` is given (``assertionMethod``…),
        the method must be listed under it in the DID document."""
        cache_key = (vm_url, relationship)
        hit = self._key_vm_cache.get(cache_key) if isinstance(vm_url, str) else None
        if hit is not None:
            # a fresh copy of the (string-only) method entry, so callers cannot change the next answer
            return VerificationMethod(hit.id, hit.type, hit.controller, hit.public_key, dict(hit.document))
        did, _, fragment = vm_url.partition("#")
        if not fragment:
            raise DidResolutionError(vm_url, "a verification method URL needs a #fragment", malformed=True)
        doc = self.resolve(did)
        vm = _find_vm(doc, vm_url, did)
        if vm is None:
            raise DidResolutionError(vm_url, "the DID document has no such verification method", malformed=True)
        if relationship is not None and not _listed(doc, relationship, vm_url, did):
            raise VerificationRelationshipError(vm_url, relationship)
        controller = str(vm.get("controller", ""))
        result = VerificationMethod(vm_url, str(vm.get("type", "")), controller, _public_key_of(vm_url, vm), vm)
        if type(self._methods.get("key")) is DidKeyMethod and did.startswith("did:key:"):
            if len(self._key_vm_cache) >= _KEY_VM_CACHE_SIZE:
                self._key_vm_cache.clear()
            self._key_vm_cache[cache_key] = VerificationMethod(
                result.id, result.type, result.controller, result.public_key, dict(vm)
            )
        return result


class VerificationRelationshipError(VcgateError):
    """The verification method is not authorised for the proof purpose."""

    def __init__(self, vm_url: str, relationship: str) -> None:
        super().__init__(f"{vm_url} is not listed under {relationship} in its DID document")
        self.vm_url = vm_url
        self.relationship = relationship


def _absolute(ref: str, did: str) -> str:
    return did + ref if ref.startswith("#") else ref


def _find_vm(doc: Mapping[str, Any], vm_url: str, did: str) -> Mapping[str, Any] | None:
    candidates: list[Any] = list(doc.get("verificationMethod") or [])
    for rel in (
        "assertionMethod",
        "authentication",
        "capabilityInvocation",
        "capabilityDelegation",
        "keyAgreement",
    ):
        candidates += [v for v in doc.get(rel) or [] if isinstance(v, dict)]
    for vm in candidates:
        if isinstance(vm, dict) and _absolute(str(vm.get("id", "")), did) == vm_url:
            return vm
    return None


def _listed(doc: Mapping[str, Any], relationship: str, vm_url: str, did: str) -> bool:
    for entry in doc.get(relationship) or []:
        ref = entry.get("id", "") if isinstance(entry, dict) else entry
        if isinstance(ref, str) and _absolute(ref, did) == vm_url:
            return True
    return False


def _public_key_of(vm_url: str, vm: Mapping[str, Any]) -> DecodedPublicKey:
    try:
        if "publicKeyMultibase" in vm:
            return public_key_from_multibase(str(vm["publicKeyMultibase"]))
        if "publicKeyJwk" in vm:
            jwk = vm["publicKeyJwk"]
            if not isinstance(jwk, dict) or "d" in jwk:
                raise InputError("publicKeyJwk must be a public JWK object")
            return public_key_from_jwk(jwk)
    except InputError as exc:
        raise DidResolutionError(vm_url, f"unusable public key: {exc}", malformed=True) from None
    raise DidResolutionError(
        vm_url, "the verification method has no publicKeyMultibase or publicKeyJwk", malformed=True
    )


def _http_error() -> type[Exception]:
    import httpx

    return httpx.HTTPError
