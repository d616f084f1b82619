"""Static release checks of the source tree: versions and the ranges between the four packages.

1. ``declared``: each package's pyproject makes its version dynamic, read by
   ``[tool.hatch.version] path`` from one ``__about__.py`` that assigns ``__version__`` once,
   to a PEP 440 string.
2. ``hard-coded``: no other file of the repository (git's tracked and unignored files) spells
   a package's version or assigns a ``__version__`` string; CHANGELOG headings are the exception.
3. ``ranges``: the packages depend on each other only along nn -> autograd, optim -> autograd,
   neograd -> all three, and each such dependency is a compatible range (a lower and an upper
   bound, never ``==``) that admits the version in the tree.

Run by check_packaging.py and by tests/packaging/test_check_versions.py; alone:
``python tests/packaging/check_versions.py``. Needs ``packaging`` (and tomli before Python 3.11).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
# which neograd packages each package may (and must) depend on: dependencies point one way only
DEPENDS_ON = {
    "neograd-autograd": set(),
    "neograd-nn": {"neograd-autograd"},
    "neograd-optim": {"neograd-autograd"},
    "neograd-distributed": {"neograd-autograd", "neograd-nn"},
    "neograd-onnx": {"neograd-autograd", "neograd-nn"},
    # the meta-package's extras count too: neograd[distributed], neograd[onnx]
    "neograd": {"neograd-autograd", "neograd-nn", "neograd-optim", "neograd-distributed", "neograd-onnx"},
}


@dataclass
class Package:
    """What the checks need from one package's pyproject.toml and its __about__.py."""

    name: str
    directory: Path
    version: str = ""
    about: Path | None = None
    dependencies: list[str] = field(default_factory=list)
    build_requires: list[str] = field(default_factory=list)


def load_packages(root: Path = ROOT) -> tuple[dict[str, Package], list[str]]:
    """The packages under ``root/packages`` by name, and the problems with how their versions are declared."""
    packages, problems = {}, []
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        where = pyproject.relative_to(root)
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        project = data.get("project", {})
        package = Package(canonicalize_name(project.get("name", pyproject.parent.name)), pyproject.parent)
        package.dependencies = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            package.dependencies += extra
        package.build_requires = list(data.get("build-system", {}).get("requires", []))
        packages[package.name] = package
        if "version" in project:
            problems.append(
                f"{where}: [project] sets version = {project['version']!r}; declare it in __about__.py"
            )
        if "version" not in project.get("dynamic", []):
            problems.append(f"{where}: [project] dynamic must list 'version' (read from __about__.py)")
        path = data.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
        if path is None:
            problems.append(f"{where}: [tool.hatch.version] path is missing")
            continue
        package.about = pyproject.parent / path
        if not package.about.is_file():
            problems.append(f"{where}: [tool.hatch.version] path {path} does not exist")
            continue
        values = version_assignments(package.about.read_text(encoding="utf-8"))
        about = package.about.relative_to(root)
        if len(values) != 1 or not isinstance(values[0], str):
            problems.append(f"{about}: must assign __version__ exactly once, to a string; found {values}")
            continue
        try:
            Version(values[0])
        except InvalidVersion:
            problems.append(f"{about}: __version__ = {values[0]!r} is not a PEP 440 version")
            continue
        package.version = values[0]
    missing = sorted(set(DEPENDS_ON) - set(packages))
    if missing:
        problems.append(f"packages/ lacks {missing}")
    return packages, problems


def version_assignments(source: str) -> list[str | None]:
    """The values assigned to ``__version__`` at module level (None for anything but a string)."""
    values: list[str | None] = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "__version__" for t in targets):
            value = getattr(node, "value", None)
            values.append(
                value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None
            )
    return values


def repository_files(root: Path = ROOT) -> list[Path]:
    """The files git tracks or would track (untracked but not ignored) under ``root``."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({root / name for name in listing.split("\0") if name and (root / name).is_file()})


_VERSION_LITERAL = re.compile(r"""__version__\s*(?::[^=]*)?=\s*[rbuRBU]?["']""")


def hard_coded_versions(packages: dict[str, Package], files: list[Path], root: Path = ROOT) -> list[str]:
    """Lines outside the __about__.py files that spell a package's version or assign a __version__ string."""
    versions = sorted({p.version for p in packages.values() if p.version})
    if not versions:
        return []
    # a whole version, not part of a longer one (X.Y.Z in 1X.Y.Z or X.Y.Z.1); a tag's vX.Y.Z counts
    spelled = re.compile(r"(?<!\d)(?<!\d\.)(?:" + "|".join(map(re.escape, versions)) + r")(?!\.?\d)")
    abouts = {p.about.resolve() for p in packages.values() if p.about}
    problems = []
    for path in files:
        if path.resolve() in abouts:
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        for number, line in enumerate(lines, 1):
            if path.name.lower() == "changelog.md" and line.lstrip().startswith("#"):
                continue
            if spelled.search(line) or (path.suffix == ".py" and _VERSION_LITERAL.search(line)):
                problems.append(f"{path.relative_to(root)}:{number}: {line.strip()[:100]}")
    return problems


def range_problems(packages: dict[str, Package]) -> tuple[list[str], list[str]]:
    """Check the dependencies between the packages; returns (problems, one line per range that passed)."""
    problems, passed = [], []
    for package in packages.values():
        found = set()
        for text in package.dependencies:
            try:
                requirement = Requirement(text)
            except InvalidRequirement as e:
                problems.append(f"{package.name}: cannot parse the dependency {text!r} ({e})")
                continue
            target = packages.get(canonicalize_name(requirement.name))
            if target is None:
                continue
            found.add(target.name)
            operators = {spec.operator for spec in requirement.specifier}
            if operators & {"==", "==="}:
                problems.append(f"{package.name}: {text!r} pins a version; use a range (>=0.1,<0.2)")
            elif not operators & {">=", ">", "~="} or not operators & {"<", "<=", "~="}:
                problems.append(f"{package.name}: {text!r} needs both a lower and an upper bound")
            elif not target.version or not requirement.specifier.contains(target.version, prereleases=True):
                problems.append(f"{package.name}: {text!r} does not admit {target.name} {target.version}")
            else:
                passed.append(f"{package.name} -> {requirement} admits {target.version}")
        expected = DEPENDS_ON.get(package.name, set())
        if found != expected:
            problems.append(
                f"{package.name} depends on {sorted(found) or 'no neograd package'}, "
                f"expected {sorted(expected) or 'none'}"
            )
    return problems, passed


def main() -> int:
    packages, declared = load_packages()
    hard_coded = hard_coded_versions(packages, repository_files())
    ranges, passed = range_problems(packages)
    for name, problems, ok in [
        ("declared", declared, ", ".join(f"{p.name} {p.version}" for p in packages.values())),
        ("hard-coded", hard_coded, "no file but the __about__.py files and CHANGELOG headings spells one"),
        ("ranges", ranges, "; ".join(passed)),
    ]:
        print(f"FAIL {name}:\n  " + "\n  ".join(problems) if problems else f"PASS {name}: {ok}")
    return 1 if declared or hard_coded or ranges else 0


if __name__ == "__main__":
    sys.exit(main())
