"""Verifier cases driven by ``vectors/MANIFEST.json``: data model (VC 2.0 and 1.1), canonical schema, proofs
(the W3C known-answer vectors, every suite, the reference library's output, tampering) and security.

Against a VC-API endpoint each vector is posted to ``/credentials/verify`` byte for byte; against
``verifier:vcgate`` it goes through ``Verifier.check``. Expected problem codes are vcgate's; an endpoint that
reports no codes at all is judged on its verdict and HTTP status only (the reason says so).
"""

from __future__ import annotations

import pytest

from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import fail
from vcgate.conformance_tests._vc_api import VerifierUnderTest
from vcgate.conformance_tests._vectors import VectorCase, judge, vector_cases

VECTORS = [pytest.param(v, id=v.id, marks=conformance_case(v.id)) for v in vector_cases()]


@pytest.mark.parametrize("vector", VECTORS)
def test_vector(vector: VectorCase, verifier_under_test: VerifierUnderTest) -> None:
    """The verifier's verdict (and HTTP status, and problem codes) is the one the vector states."""
    problem = judge(vector, verifier_under_test.verify_bytes(vector.document_bytes()))
    if problem is not None:
        fail(problem)
