"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clear_productiv_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's PRODUCTIV_* variables (tokens, URLs): each sets its own."""
    for name in list(os.environ):
        if name.startswith("PRODUCTIV_"):
            monkeypatch.delenv(name, raising=False)
