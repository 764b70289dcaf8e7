"""The vcgate conformance suite (a pytest plugin), run against any adapter or VC-API endpoint."""

__all__: list[str] = []
