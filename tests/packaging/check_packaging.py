"""Release checks: build the six packages, install each from the built files alone, and use it.

Run by .ci/run (not collected by pytest: it builds wheels and creates virtual environments).
Needs hatch, and the network for step 3 only; every install is offline.

1. versions    the static checks of check_versions.py: each package's version is declared in
               its __about__.py and nowhere else; the ranges between the packages admit them
2. build       `hatch build` makes a wheel and an sdist of each package; each wheel holds only
               its own part of the `neograd` namespace, with the version of its __about__.py
3. wheelhouse  `pip download` the third-party wheels the installs need: the packages'
               requirements (numpy), hatchling (to build from the sdists), scikit-learn (the
               seed example)
4. installs    each into a fresh venv, with `pip install --no-index` from dist/ and the wheelhouse:
               (a) neograd-autograd: only numpy comes along       -> smoke_autograd.py
               (b) neograd-nn: pulls the core, not neograd-optim  -> smoke_nn.py
               (c) neograd-optim: pulls the core, not neograd-nn  -> smoke_optim.py
               (d) neograd: everything                            -> smoke_neograd.py, then
                   examples/seed_readme.py run verbatim as a script: its loss falls
               (e) neograd-distributed[mpich]: core, nn, mpi4py and mpich, not optim
                                                                  -> smoke_distributed.py, alone
                   and on 2 ranks with the venv's mpiexec
               (f) neograd-onnx: core, nn and onnx, not optim     -> smoke_onnx.py
5. sdists      pip builds a wheel from each sdist (offline, as `pip install <sdist>` does); it
               holds the same files as the wheel built from the tree, and the six install
               together in a fresh venv and pass smoke_neograd.py

Usage: python tests/packaging/check_packaging.py [--keep DIR] [--wheelhouse DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata as md
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

from check_versions import hard_coded_versions, load_packages, range_problems, repository_files
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGES = [
    "neograd-autograd",
    "neograd-nn",
    "neograd-optim",
    "neograd-distributed",
    "neograd-onnx",
    "neograd",
]
SUBPACKAGE = {
    "neograd-autograd": "autograd",
    "neograd-nn": "nn",
    "neograd-optim": "optim",
    "neograd-distributed": "distributed",
    "neograd-onnx": "onnx",
}
SEED_EXAMPLE = ROOT / "examples" / "seed_readme.py"
LOSS_LINE = re.compile(r"iter (\d+)/1000\nloss: (?:tensor\()?([-+0-9.eE]+|nan|inf)")
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
ENV.update(
    PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1"
)


class CheckFailed(Exception):
    """A check did not pass; the message says what was found."""


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    """Run a command quietly; its stdout, or CheckFailed with its output."""
    print("  $", " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise CheckFailed(f"exit status {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


class Report:
    """Runs the steps, says PASS or FAIL for each with its time, and sums up at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float]] = []
        self.start = time.perf_counter()

    @contextlib.contextmanager
    def step(self, name: str, fatal: bool = False) -> Iterator[None]:
        print(f"\n== {name}", flush=True)
        start = time.perf_counter()
        try:
            yield
        except CheckFailed as e:
            self.rows.append(("FAIL", name, time.perf_counter() - start))
            print(f"FAIL {name}: {e}", flush=True)
            if fatal:
                self.summary()
        else:
            self.rows.append(("PASS", name, time.perf_counter() - start))
            print(f"PASS {name} ({time.perf_counter() - start:.1f}s)", flush=True)

    def summary(self) -> None:
        print("\n== summary")
        for status, name, seconds in self.rows:
            print(f"{status}  {seconds:6.1f}s  {name}")
        failed = sum(status == "FAIL" for status, _, _ in self.rows)
        total = time.perf_counter() - self.start
        print(f"packaging check: {'FAILED' if failed else 'OK'} ({len(self.rows)} steps, {total:.0f}s)")
        sys.exit(1 if failed else 0)


# ---- 1. versions ----------------------------------------------------------------------------
def check_versions() -> None:
    """The static checks of check_versions.py, with what passed."""
    packages, problems = load_packages(ROOT)
    problems += hard_coded_versions(packages, repository_files(ROOT), ROOT)
    ranges, passed = range_problems(packages)
    if problems or ranges:
        raise CheckFailed("\n  " + "\n  ".join(problems + ranges))
    for package in packages.values():
        print(f"  {package.name} {package.version}: declared once, in {package.about.relative_to(ROOT)}")
    print("  no other file spells a version (CHANGELOG headings aside)")
    for line in passed:
        print(f"  {line}")


# ---- 2. build -------------------------------------------------------------------------------
def wheel_problems(wheels: dict[str, list[str]]) -> list[str]:
    """What is wrong with the files of the wheels (package name -> file names, dist-info aside).

    A sub-package ships ``neograd/<sub>/`` and nothing else; the meta-package ships files
    under ``neograd/`` but none in a sub-package's folder; no file is in two wheels (an
    install would overwrite another's), and no compiled file is shipped.
    """
    problems, shipped = [], {}
    for name, files in wheels.items():
        sub = SUBPACKAGE.get(name)
        if sub:
            prefix = f"neograd/{sub}/"
            stray = [f for f in files if not f.startswith(prefix)]
        else:
            prefix = "neograd/"
            stray = [f for f in files if not f.startswith(prefix) or f.split("/")[1] in SUBPACKAGE.values()]
        stray += [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
        missing = [prefix + f for f in ("__init__.py", "__about__.py", "py.typed") if prefix + f not in files]
        clashes = [f"{f} (also in {shipped[f]})" for f in files if f in shipped]
        for what, found in (("ships stray files", stray), ("lacks", missing), ("clashes", clashes)):
            if found:
                problems.append(f"{name} {what}: {found}")
        shipped.update(dict.fromkeys(files, name))
    return problems


def build(dist: Path, versions: dict[str, str]) -> None:
    for name in PACKAGES:
        run("hatch", "build", "-t", "wheel", "-t", "sdist", dist, cwd=ROOT / "packages" / name)
    wheels = {}
    for name in PACKAGES:
        stem = f"{name.replace('-', '_')}-{versions[name]}"
        wheel, sdist = dist / f"{stem}-py3-none-any.whl", dist / f"{stem}.tar.gz"
        if not wheel.is_file() or not sdist.is_file():
            built = sorted(p.name for p in dist.iterdir())
            raise CheckFailed(
                f"expected {wheel.name} and {sdist.name} (the versions in the tree), built {built}"
            )
        with zipfile.ZipFile(wheel) as archive:
            wheels[name] = [f for f in archive.namelist() if not f.split("/")[0].endswith(".dist-info")]
        print(f"  {wheel.name} ({len(wheels[name])} files), {sdist.name}")
    problems = wheel_problems(wheels)
    if problems:
        raise CheckFailed("\n  " + "\n  ".join(problems))
    print("  each wheel ships only its own part of the neograd namespace; no file is in two wheels")


# ---- 3. wheelhouse --------------------------------------------------------------------------
# the GPU extras (neograd-autograd[cuda12], [cuda13]): CuPy wheels of hundreds of MB that only
# work with an NVIDIA GPU; no install below uses them (tests/device checks them on a GPU)
GPU_ONLY = {"cupy-cuda12x", "cupy-cuda13x"}


def fill_wheelhouse(wheelhouse: Path) -> None:
    packages, _ = load_packages(ROOT)
    third_party = {"scikit-learn"}
    for package in packages.values():
        for text in package.dependencies + package.build_requires:
            name = canonicalize_name(Requirement(text).name)
            if name not in packages and name not in GPU_ONLY:
                third_party.add(text)
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "-d",
        wheelhouse,
        *sorted(third_party),
    )
    print(f"  {len(list(wheelhouse.glob('*.whl')))} wheels for {sorted(third_party)}")


# ---- 4. installs ----------------------------------------------------------------------------
class Venv:
    """A fresh virtual environment that installs only from local files."""

    def __init__(self, where: Path, finds: list[Path]) -> None:
        # pip >= 22.3 installs into another interpreter (`pip --python`): the venv needs no pip
        self.outer_pip = tuple(int(n) for n in md.version("pip").split(".")[:2]) >= (22, 3)
        self.dir = where
        shutil.rmtree(where, ignore_errors=True)
        venv.create(where, with_pip=not self.outer_pip)
        self.python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        self.finds = [arg for path in finds for arg in ("--find-links", path)]

    def install(self, *what: str | Path) -> None:
        pip = (
            (sys.executable, "-m", "pip", "--python", self.python)
            if self.outer_pip
            else (self.python, "-m", "pip")
        )
        run(*pip, "install", "--quiet", "--no-compile", "--no-index", *self.finds, *what)

    def smoke(self, script: str) -> None:
        """Run a smoke script from outside the source tree; print its summary line."""
        print("  " + run(self.python, HERE / script, cwd=self.dir).strip().splitlines()[-1])


def check_seed_example(env: Venv) -> None:
    """examples/seed_readme.py, byte for byte, runs as a script in ``env``; its loss falls."""
    script = env.dir / SEED_EXAMPLE.name
    shutil.copyfile(SEED_EXAMPLE, script)
    start = time.perf_counter()
    out = run(env.python, script, cwd=env.dir)
    seconds = time.perf_counter() - start
    pairs = LOSS_LINE.findall(out)
    if [int(i) for i, _ in pairs] != list(range(1, 1000, 50)):
        raise CheckFailed(f"the seed example printed unexpected lines:\n{out[:1000]}")
    losses = [float(v) for _, v in pairs]
    if not all(math.isfinite(v) for v in losses) or not losses[-1] < losses[0]:
        raise CheckFailed(f"the seed example's loss did not fall: {losses}")
    print(f"  examples/seed_readme.py verbatim: loss {losses[0]:.4f} -> {losses[-1]:.4f} ({seconds:.1f}s)")


# ---- 5. sdists ------------------------------------------------------------------------------
def wheel_contents(wheel: Path) -> tuple[dict[str, str], list[str]]:
    """Each installed file's sha256, and the metadata fields that describe the distribution."""
    with zipfile.ZipFile(wheel) as archive:
        files = {
            name: hashlib.sha256(archive.read(name)).hexdigest()
            for name in archive.namelist()
            if not name.split("/")[0].endswith(".dist-info")
        }
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        fields = ("Name:", "Version:", "Requires-Dist:", "Requires-Python:")
        lines = [line for line in archive.read(metadata).decode().splitlines() if line.startswith(fields)]
    return files, sorted(lines)


def check_sdists(dist: Path, wheelhouse: Path, out: Path) -> None:
    sdists = sorted(dist.glob("*.tar.gz"))
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--quiet", "--no-deps", "--no-index", "--find-links", wheelhouse, "-w", out, *sdists)
    for sdist in sdists:
        stem = sdist.name.removesuffix(".tar.gz")
        tree_files, tree_metadata = wheel_contents(dist / f"{stem}-py3-none-any.whl")
        sdist_files, sdist_metadata = wheel_contents(out / f"{stem}-py3-none-any.whl")
        if tree_files != sdist_files or tree_metadata != sdist_metadata:
            lost = sorted(set(tree_files) - set(sdist_files))
            changed = sorted(f for f in set(tree_files) & set(sdist_files) if tree_files[f] != sdist_files[f])
            raise CheckFailed(f"{sdist.name} builds a different wheel: missing {lost}, changed {changed}")
        print(f"  {sdist.name} -> a wheel with the same {len(tree_files)} files and metadata")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--wheelhouse", type=Path, help="download third-party wheels here (reused)")
    args = parser.parse_args()
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        where = (args.keep or Path(tmp)).resolve()
        dist, wheelhouse = where / "dist", (args.wheelhouse or where / "wheelhouse").resolve()
        for stale in (dist, where / "from-sdist"):
            shutil.rmtree(stale, ignore_errors=True)
        for directory in (dist, wheelhouse):
            directory.mkdir(parents=True, exist_ok=True)
        with report.step("1. versions: declared once, ranges admit them"):
            check_versions()
        versions = {name: package.version for name, package in load_packages(ROOT)[0].items()}
        with report.step(
            "2. build: a wheel and an sdist per package, each wheel only its own files", fatal=True
        ):
            build(dist, versions)
        with report.step("3. wheelhouse: third-party wheels for the offline installs", fatal=True):
            fill_wheelhouse(wheelhouse)
        finds = [dist, wheelhouse]
        with report.step("4a. neograd-autograd alone: only numpy; seed snippet, backward"):
            env = Venv(where / "venv-autograd", finds)
            env.install("neograd-autograd")
            env.smoke("smoke_autograd.py")
        with report.step("4b. neograd-nn alone: core, not optim; model, state_dict round trip"):
            env = Venv(where / "venv-nn", finds)
            env.install("neograd-nn")
            env.smoke("smoke_nn.py")
        with report.step("4c. neograd-optim alone: core, not nn; optimizers on plain tensors"):
            env = Venv(where / "venv-optim", finds)
            env.install("neograd-optim")
            env.smoke("smoke_optim.py")
        with report.step("4d. neograd: everything; the namespace, then the seed example verbatim"):
            env = Venv(where / "venv-neograd", finds)
            env.install("neograd")
            env.smoke("smoke_neograd.py")
            env.install("scikit-learn")
            check_seed_example(env)
        with report.step("4e. neograd-distributed[mpich] alone: core and nn, not optim; 2 ranks"):
            env = Venv(where / "venv-distributed", finds)
            env.install("neograd-distributed[mpich]")
            env.smoke("smoke_distributed.py")
        with report.step("4f. neograd-onnx alone: core, nn and onnx, not optim; export and load back"):
            env = Venv(where / "venv-onnx", finds)
            env.install("neograd-onnx")
            env.smoke("smoke_onnx.py")
        with report.step("5. sdists: each builds the same wheel offline; the six install and work"):
            check_sdists(dist, wheelhouse, where / "from-sdist")
            env = Venv(where / "venv-sdist", [where / "from-sdist", wheelhouse])
            env.install("neograd")
            env.smoke("smoke_neograd.py")
    report.summary()


if __name__ == "__main__":
    main()
