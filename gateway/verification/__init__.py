"""The verification core: parsing, canonicalisation, proofs, DIDs, status lists, policy and the pipeline stages.

Store, jobs, API and CLI are its callers (ARCHITECTURE.md, "Verification pipeline"); the public names are
re-exported from :mod:`vcgate.gateway`.
"""

# The RDFC fast path (and pyoxigraph) is imported with the package, not inside the first verification.
from . import _rdfc_fast  # noqa: F401
