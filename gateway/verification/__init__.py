"""The verification core: parsing, canonicalisation, proofs, DIDs, status lists, policy and the pipeline stages.

Store, jobs, API and CLI are its callers (ARCHITECTURE.md, "Verification pipeline"); the public names are
re-exported from :mod:`vcgate.gateway`.
"""
