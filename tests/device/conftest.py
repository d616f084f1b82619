"""The ``gpu`` fixture of the device tests: GPU code paths on a fake CuPy, and on a real GPU if any.

CI has no GPU: there each test using ``gpu`` runs once, on the fake CuPy (fake_cupy.py),
whose arrays refuse any silent trip to NumPy. Where CuPy finds a GPU, the same test runs a
second time on the real one (marked ``cuda``: ``pytest -m cuda`` runs only those).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fake_cupy

from neograd.autograd import backend, cuda


def real_gpu_available() -> bool:
    """Whether CuPy is installed and finds a GPU (imports CuPy where it is installed)."""
    saved = backend._cupy, backend._cupyx
    try:
        return cuda.is_available()
    finally:
        if saved[0] is not None:  # a fake installed by a test stays what it was
            backend._cupy, backend._cupyx = saved


_PARAMS = ["fake"] + ([pytest.param("cuda", marks=pytest.mark.cuda)] if real_gpu_available() else [])


@pytest.fixture(params=_PARAMS)
def gpu(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CuPy module "cuda" tensors use in this test: the fake one, or the real one on a GPU."""
    if request.param == "fake":
        return fake_cupy.install(monkeypatch)
    monkeypatch.setattr(cuda, "_generators", {})  # fresh GPU generators, as the fake gets
    return backend.cupy()
