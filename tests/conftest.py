"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from productiv_pandas.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _clear_productiv_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's PRODUCTIV_* variables (tokens, URLs): each sets its own."""
    for name in list(os.environ):
        if name.startswith("PRODUCTIV_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox a test module (rate limit off), so modules never see each other's apps."""
    with Sandbox(rate_limit=None) as server:
        yield server


@pytest.fixture
def sandbox_with(sandbox: Sandbox) -> Iterator[Callable[..., Sandbox]]:
    """``sandbox_with(app_id, events=..., login_events=...)``: the module's sandbox, reset, with
    that app registered; after the test, delays are off and the server logged no error."""

    def reset(app_id: str, **app: Any) -> Sandbox:
        sandbox.reset()
        sandbox.add_app(app_id, **app)
        return sandbox

    yield reset
    sandbox.set_delay(0)
    assert sandbox.server_errors == []
