"""Fixtures for the web lab: an app on a fresh store, a TestClient, and small real-engine runs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from theoryscope.web.app import create_app
from theoryscope.web.limits import Limits


@pytest.fixture()
def limits() -> Limits:
    return Limits(detach_grace_s=0.3)


@pytest.fixture()
def client(store_path, limits):
    """A TestClient on a fresh store (lifespan on: live runs are stopped at the end).

    The TestClient addresses the app as ``http://testserver``: that name is allowed here the way
    ``theoryscope serve --allow-host`` would allow it.
    """
    with TestClient(create_app(store_path, limits, allowed_hosts=["testserver"])) as c:
        yield c
