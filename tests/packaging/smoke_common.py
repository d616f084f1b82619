"""What every smoke script checks in its fresh virtual environment (run there by check_packaging.py).

Only the standard library and the installed packages are available, so a failed check
exits with a message rather than relying on pytest.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import re
import sys
from pathlib import Path

# the installer's own distributions, present when the venv was made with pip in it
INSTALLER = {"pip", "setuptools", "wheel"}


def check(condition: bool, message: str) -> None:
    """Stop the smoke script with ``message`` unless ``condition`` holds."""
    if not condition:
        sys.exit(f"SMOKE FAILED: {message}")


def requirement_names(distribution: str) -> set[str]:
    """The names of the distributions that ``distribution`` requires (extras and markers aside)."""
    names = set()
    for requirement in md.requires(distribution) or []:
        if "extra ==" not in requirement:
            names.add(re.match(r"[A-Za-z0-9._-]+", requirement).group().lower().replace("_", "-"))
    return names


def check_installed(expected: set[str]) -> None:
    """Exactly the ``expected`` distributions are installed (besides the installer's own)."""
    found = {d.metadata["Name"].lower().replace("_", "-") for d in md.distributions()} - INSTALLER
    check(found == expected, f"installed {sorted(found)}, expected exactly {sorted(expected)}")


def check_pieces(installed: dict[str, str], absent: list[str]) -> None:
    """Each module of ``installed`` (module -> distribution) imports from this venv with its
    distribution's version; each module of ``absent`` does not import."""
    venv = Path(sys.prefix).resolve()
    for name, distribution in installed.items():
        module = importlib.import_module(name)
        where = Path(module.__file__).resolve()
        check(venv in where.parents, f"{name} was imported from {where}, outside the venv {venv}")
        check(
            module.__version__ == md.version(distribution),
            f"{name}.__version__ is {module.__version__}, but {distribution}'s metadata says "
            f"{md.version(distribution)}",
        )
    for name in absent:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        check(False, f"{name} imports, but its distribution is not installed")


def check_no_meta_package() -> None:
    """Without the meta-package, `neograd` is a bare namespace: no __init__, no ng.tensor."""
    import neograd

    check(getattr(neograd, "__file__", None) is None, f"neograd has an __init__: {neograd.__file__}")
    check(not hasattr(neograd, "tensor"), "neograd.tensor exists without the meta-package")
