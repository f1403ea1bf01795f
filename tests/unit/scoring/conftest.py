"""Shared fixtures for the pure scoring tests (no app, no database)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from scoring import load_model
from scoring.spec import Model

AS_OF = datetime(2025, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def model() -> Model:
    return load_model("pengcheng-v1")


@pytest.fixture
def spec(model: Model) -> dict:
    """A fresh, mutable copy of the pengcheng-v1 spec."""
    return copy.deepcopy(model.raw)
