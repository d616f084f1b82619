"""Fixtures of the device tests: ``fake_cuda`` runs the GPU code paths on a fake CuPy (see fake_cupy.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fake_cupy


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> Any:
    """neograd with a fake CuPy: "cuda" tensors exist, their arrays refuse any silent trip to NumPy."""
    return fake_cupy.install(monkeypatch)
