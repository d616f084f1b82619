"""The glibc malloc tuning done at import (neograd.autograd._malloc): set on glibc, a no-op elsewhere."""

import os
import subprocess
import sys

import pytest

from neograd.autograd import _malloc


def _is_glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):
        return False


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*_malloc._USER_SETTINGS, "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_sets_the_thresholds_exactly_on_glibc(clean_env):
    assert _malloc.keep_freed_memory() is _is_glibc()


def _no_ctypes(*args, **kwargs):
    raise AssertionError("mallopt must not be called here")


@pytest.mark.parametrize(
    "confstr",
    [
        lambda name: (_ for _ in ()).throw(ValueError("unrecognized configuration name")),  # macOS, musl
        lambda name: None,
    ],
    ids=["unknown-name", "none"],
)
def test_no_op_off_glibc(clean_env, confstr):
    import ctypes

    clean_env.setattr(os, "confstr", confstr)
    clean_env.setattr(ctypes, "CDLL", _no_ctypes)
    assert _malloc.keep_freed_memory() is False


def test_no_op_without_confstr(clean_env):
    import ctypes

    clean_env.delattr(os, "confstr")  # Windows
    clean_env.setattr(ctypes, "CDLL", _no_ctypes)
    assert _malloc.keep_freed_memory() is False


@pytest.mark.parametrize(
    "name, value",
    [
        ("MALLOC_TRIM_THRESHOLD_", "131072"),
        ("MALLOC_MMAP_THRESHOLD_", "1048576"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072"),
    ],
)
def test_user_settings_are_kept(clean_env, name, value):
    import ctypes

    clean_env.setenv(name, value)
    clean_env.setattr(ctypes, "CDLL", _no_ctypes)
    assert _malloc.keep_freed_memory() is False


def test_unrelated_tunables_do_not_count(clean_env):
    clean_env.setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0")
    assert _malloc._user_tuned(os.environ) is False


def test_no_op_when_libc_cannot_be_loaded(clean_env):
    import ctypes

    def fail(*args, **kwargs):
        raise OSError("no libc")

    clean_env.setattr(os, "confstr", lambda name: "glibc 2.36")
    clean_env.setattr(ctypes, "CDLL", fail)
    assert _malloc.keep_freed_memory() is False


def test_import_works_where_confstr_does_not_know_glibc():
    # a fresh interpreter, as on macOS or musl: os.confstr rejects the name before neograd loads
    code = (
        "import os\n"
        "def confstr(name):\n"
        "    raise ValueError('unrecognized configuration name')\n"
        "os.confstr = confstr\n"
        "import neograd.autograd as ag\n"
        "print(ag.tensor([1.0, 2.0]).sum().item())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3.0"
