"""The uvicorn application factory for ``vcgate serve``: each worker builds its app from ``VCGATE_API_*``."""

from __future__ import annotations

from fastapi import FastAPI

from ._app import create_app
from ._settings import ApiSettings


def app_from_env() -> FastAPI:
    """``create_app(ApiSettings.from_env())`` (uvicorn ``--factory`` target)."""
    return create_app(ApiSettings.from_env())


__all__ = ["app_from_env"]
