"""Fixtures of the sending tests: the module's sandbox with the app ``APP`` and a client of it."""

from __future__ import annotations

import pytest

from tests.helpers.publishing import APP, CATALOG, FAST


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=CATALOG, login_events={"sso_login"})


@pytest.fixture
def client(sb):
    with sb.client(retry=FAST) as c:
        yield c
