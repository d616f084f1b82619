"""Build every package and show that neograd-autograd installs and works alone.

Run by .ci/run (not collected by pytest: it builds wheels and creates virtual environments).

1. Build the wheel and the sdist of each of the four packages (hatch build).
2. In a fresh virtual environment, install only neograd-autograd from its wheel and show
   that ``from neograd.autograd import tensor`` works, ``import neograd.nn`` fails, and
   numpy is its only requirement (and the only other distribution installed).

Usage: python tests/packaging/check_packaging.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["neograd-autograd", "neograd-nn", "neograd-optim", "neograd"]


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    print("$", " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"FAILED ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build(dist: Path) -> None:
    for name in PACKAGES:
        run("hatch", "build", "-t", "wheel", "-t", "sdist", dist, cwd=ROOT / "packages" / name)
    for name in PACKAGES:
        stem = name.replace("-", "_")
        wheels = list(dist.glob(f"{stem}-*.whl"))
        sdists = list(dist.glob(f"{stem}-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            sys.exit(f"FAILED: expected one wheel and one sdist for {name}, found {wheels} {sdists}")


def check_core_alone(dist: Path, where: Path) -> None:
    env = where / "core-only"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    (wheel,) = dist.glob("neograd_autograd-*.whl")
    run(py, "-m", "pip", "install", "--quiet", wheel)
    probe = r"""
import importlib.metadata as md, json
from neograd.autograd import tensor
a = tensor(3, requires_grad=True); b = tensor([1, 2, 3], requires_grad=True)
c = a + b; c.backward([1, 1, 1])
assert a.grad.item() == 3 and b.grad.tolist() == [1, 1, 1]
try:
    import neograd.nn
    nn_importable = True
except ImportError:
    nn_importable = False
try:
    import neograd
    top_level = hasattr(neograd, "tensor")
except ImportError:
    top_level = False
dists = sorted(d.metadata["Name"].lower() for d in md.distributions())
print(json.dumps({"requires": md.requires("neograd-autograd"), "nn": nn_importable,
                  "top_level": top_level, "dists": dists}))
"""
    result = json.loads(run(py, "-c", probe).strip().splitlines()[-1])
    print(result)
    if result["nn"]:
        sys.exit("FAILED: neograd.nn is importable with only neograd-autograd installed")
    if result["top_level"]:
        sys.exit("FAILED: the core-only install ships a top-level neograd namespace with content")
    requires = [r.split(";")[0].replace(" ", "") for r in result["requires"] or []]
    if [r.split(">")[0].split("<")[0].split("=")[0] for r in requires] != ["numpy"]:
        sys.exit(f"FAILED: neograd-autograd must require numpy only, requires {requires}")
    extra = set(result["dists"]) - {"neograd-autograd", "numpy", "pip", "setuptools", "wheel"}
    if extra:
        sys.exit(f"FAILED: installing neograd-autograd brought in {sorted(extra)}")
    print("core-only install: OK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="build into this directory and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        dist = where / "dist"
        dist.mkdir(parents=True, exist_ok=True)
        build(dist)
        check_core_alone(dist, where)
    print("packaging check: OK")


if __name__ == "__main__":
    main()
