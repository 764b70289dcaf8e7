"""Product media for the demo: the brand owner's ``ProductRegistrationCredential`` naming images and a 3-D model by
digest (VC 2.0 §5.3 ``relatedResource`` + ``digestMultibase``), and the bytes in the gateway's content store.

One product's image is stored with bytes that differ from the registered digest (a swapped picture), so the product
page shows one verified image and refuses the other. Everything is made here; nothing is fetched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime

from ..._issuing import IssuingService
from ..._store import Store
from ...verification._keys import KeyPair

CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/traceability/v1", "https://w3id.org/vcgate/v1"]
MEDIA_BASE = "https://media.acme.example/products"


def digest_multibase_of(data: bytes) -> str:
    """``u`` + base64url(0x12 0x20 ‖ SHA-256(data)): a Multibase Multihash (VC 2.0 §5.3)."""
    return "u" + base64.urlsafe_b64encode(b"\x12\x20" + hashlib.sha256(data).digest()).rstrip(b"=").decode()


def jacket_svg(colour: str, label: str) -> bytes:
    """A small product picture (a jacket outline) in ``colour`` with a caption."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240" role="img">'
        f"<title>{label}</title>"
        '<rect width="240" height="240" fill="#eef2f5"/>'
        f'<path d="M80 40 L120 60 L160 40 L205 75 L185 120 L165 105 L165 205 L75 205 L75 105 L55 120 L35 75 Z" '
        f'fill="{colour}" stroke="#1b1f24" stroke-width="3"/>'
        '<path d="M120 60 L120 205" stroke="#1b1f24" stroke-width="2"/>'
        f'<text x="120" y="228" font-family="sans-serif" font-size="13" text-anchor="middle">{label}</text>'
        "</svg>"
    ).encode()


def tiny_gltf(name: str) -> bytes:
    """A minimal glTF 2.0 asset (one empty node): the 3-D model file a registration may name."""
    return json.dumps({"asset": {"version": "2.0", "generator": "vcgate demo"}, "nodes": [{"name": name}]}).encode()


def publish_product_media(
    store: Store, owner: KeyPair, products: dict[str, tuple[str, str]], *, at: datetime, tampered: str | None = None
) -> list[str]:
    """For each ``gtin → (name, colour)`` the owner registers an image and a glTF model and the bytes go into the
    content store; for the GTIN ``tampered`` the stored image differs from the registered one. Returns the ids."""
    service = IssuingService.for_key(owner)
    ids: list[str] = []
    for gtin, (name, colour) in products.items():
        image, model = jacket_svg(colour, name), tiny_gltf(name)
        image_url, model_url = f"{MEDIA_BASE}/{gtin}/front.svg", f"{MEDIA_BASE}/{gtin}/model.gltf"
        credential = {
            "@context": CONTEXTS,
            "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, image_url)}",
            "type": ["VerifiableCredential", "ProductRegistrationCredential"],
            "issuer": owner.controller,
            "validFrom": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "credentialSubject": {"type": ["Product"], "gtin": gtin, "name": name},
            "relatedResource": [
                {"id": image_url, "mediaType": "image/svg+xml", "digestMultibase": digest_multibase_of(image)},
                {"id": model_url, "mediaType": "model/gltf+json", "digestMultibase": digest_multibase_of(model)},
            ],
        }
        signed = service.issue(credential, created=at)
        store.put_credential(signed, source="brand-owner-media")
        stored_image = jacket_svg("#b3261e", "not the registered picture") if gtin == tampered else image
        store.put_document(image_url, stored_image, fetched_at=at)
        store.put_document(model_url, model, fetched_at=at)
        ids.append(str(signed["id"]))
    return ids


def demo_product_media(store: Store, owner: KeyPair, products: dict[str, dict[str, str]], *, at: datetime) -> None:
    """The demo's media: product ``A`` with a matching picture, ``A2`` with a swapped one (see the module doc)."""
    chosen = {products[k]["gtin"]: (products[k]["name"], c) for k, c in (("A", "#2f6f4f"), ("A2", "#35507a"))
              if k in products}  # fmt: skip
    publish_product_media(store, owner, chosen, at=at, tampered=products["A2"]["gtin"] if "A2" in products else None)


__all__ = [
    "MEDIA_BASE",
    "demo_product_media",
    "digest_multibase_of",
    "jacket_svg",
    "publish_product_media",
    "tiny_gltf",
]
