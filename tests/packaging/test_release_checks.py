"""The static release checks: on the tree, and on small made-up trees that break each rule.

The made-up packages are at version 4.2.0, so that this file spells none of the tree's
versions (the hard-coded check reads it too). The checks that build and install
(check_packaging.py) run in CI, not under pytest.
"""

import textwrap

import pytest
from check_packaging import wheel_problems
from check_versions import ROOT, Package, hard_coded_versions, load_packages, range_problems, repository_files

FAKE = "4.2.0"
RANGE = ">=4.2,<4.3"
GOOD_DEPENDENCIES = {
    "neograd-autograd": ["numpy>=1.26"],
    "neograd-nn": [f"neograd-autograd{RANGE}", "numpy>=1.26"],
    "neograd-optim": [f"neograd-autograd{RANGE}", "numpy>=1.26"],
    "neograd-distributed": [f"neograd-autograd{RANGE}", f"neograd-nn{RANGE}", "numpy>=1.26", "mpi4py>=4.0"],
    "neograd-onnx": [f"neograd-autograd{RANGE}", f"neograd-nn{RANGE}", "numpy>=1.26", "onnx>=1.16"],
    "neograd": [
        f"neograd-autograd{RANGE}",
        f"neograd-nn{RANGE}",
        f"neograd-optim{RANGE}",
        f"neograd-distributed{RANGE}",
        f"neograd-onnx{RANGE}",
    ],
}
# written with !r, so that no line of this file assigns a version string itself
ABOUT = f"__version__ = {FAKE!r}\n"


def packages(**dependencies):
    """The four made-up packages, with some dependencies replaced."""
    deps = {**GOOD_DEPENDENCIES, **{k.replace("_", "-"): v for k, v in dependencies.items()}}
    return {name: Package(name, ROOT, FAKE, None, deps[name]) for name in GOOD_DEPENDENCIES}


def make_tree(root, project_extra='dynamic = ["version"]', about=ABOUT):
    """A made-up repository with the four packages; neograd-nn gets ``project_extra`` and ``about``."""
    for name in GOOD_DEPENDENCIES:
        directory = root / "packages" / name
        directory.mkdir(parents=True)
        (directory / "__about__.py").write_text(about if name == "neograd-nn" else ABOUT)
        extra = project_extra if name == "neograd-nn" else 'dynamic = ["version"]'
        (directory / "pyproject.toml").write_text(
            textwrap.dedent(
                f"""
                [project]
                name = "{name}"
                {extra}
                dependencies = {GOOD_DEPENDENCIES[name]!r}

                [tool.hatch.version]
                path = "__about__.py"
                """
            )
        )


# ---- the tree --------------------------------------------------------------------------------
def test_the_tree_declares_each_version_once_in_its_about_file():
    found, problems = load_packages(ROOT)
    assert problems == []
    assert sorted(found) == sorted(GOOD_DEPENDENCIES)
    for package in found.values():
        assert package.about.name == "__about__.py" and package.version


def test_the_trees_ranges_admit_the_trees_versions():
    found, _ = load_packages(ROOT)
    problems, passed = range_problems(found)
    assert problems == []
    # nn, optim -> autograd; distributed, onnx -> autograd and nn; neograd -> all five, and
    # neograd-autograd again through its extras cuda12 and cuda13
    assert len(passed) == 13


def test_no_file_of_the_tree_hard_codes_a_version():
    found, _ = load_packages(ROOT)
    files = repository_files(ROOT)
    assert ROOT / "packages" / "neograd" / "pyproject.toml" in files
    assert hard_coded_versions(found, files, ROOT) == []


# ---- each rule, broken -----------------------------------------------------------------------
def test_a_made_up_tree_that_follows_the_rules_passes(tmp_path):
    make_tree(tmp_path)
    found, problems = load_packages(tmp_path)
    assert problems == [] and {p.version for p in found.values()} == {FAKE}


@pytest.mark.parametrize(
    ("project_extra", "about", "message"),
    [
        (f'version = "{FAKE}"\ndynamic = ["version"]', ABOUT, "sets version"),
        ("", ABOUT, "dynamic must list 'version'"),
        ('dynamic = ["version"]', ABOUT + ABOUT, "exactly once"),
        ('dynamic = ["version"]', "__version__ = VERSION\n", "exactly once"),
        ('dynamic = ["version"]', f"__version__ = {'one'!r}\n", "not a PEP 440 version"),
    ],
)
def test_a_version_declared_elsewhere_or_twice_is_refused(tmp_path, project_extra, about, message):
    make_tree(tmp_path, project_extra, about)
    _, problems = load_packages(tmp_path)
    assert len(problems) == 1 and message in problems[0], problems


@pytest.mark.parametrize(
    "line",
    [
        f"neograd-nn {FAKE}, see CHANGELOG.md",
        f"git tag neograd-nn-v{FAKE}",
        f"released {FAKE}.",
        f"pip install neograd=={FAKE}",
    ],
)
def test_a_spelled_out_version_is_found(tmp_path, line):
    (tmp_path / "README.md").write_text(f"# neograd\n\n{line}\n")
    problems = hard_coded_versions(packages(), [tmp_path / "README.md"], tmp_path)
    assert problems == [f"README.md:3: {line}"]


def test_a_version_string_assigned_in_python_is_found_whatever_its_value(tmp_path):
    other = "9.9.9"
    (tmp_path / "mod.py").write_text(f'"""A module."""\n\n__version__ = {other!r}\n')
    problems = hard_coded_versions(packages(), [tmp_path / "mod.py"], tmp_path)
    assert problems == [f"mod.py:3: __version__ = {other!r}"]


def test_changelog_headings_ranges_and_longer_versions_are_not_versions(tmp_path):
    (tmp_path / "CHANGELOG.md").write_text(f"# Changelog\n\n## {FAKE} (unreleased)\n\n- first\n")
    (tmp_path / "notes.md").write_text(f"numpy 1{FAKE} and {FAKE}.1; neograd-nn{RANGE}\n")
    files = [tmp_path / "CHANGELOG.md", tmp_path / "notes.md"]
    assert hard_coded_versions(packages(), files, tmp_path) == []
    (tmp_path / "CHANGELOG.md").write_text(f"# Changelog\n\nSee {FAKE} below.\n")
    assert hard_coded_versions(packages(), files, tmp_path) == [f"CHANGELOG.md:3: See {FAKE} below."]


@pytest.mark.parametrize(
    ("dependencies", "message"),
    [
        ([f"neograd-autograd=={FAKE}"], "pins a version"),
        (["neograd-autograd>=4.2"], "a lower and an upper bound"),
        (["neograd-autograd<4.3"], "a lower and an upper bound"),
        (["neograd-autograd>=4.3,<4.4"], f"does not admit neograd-autograd {FAKE}"),
        ([f"neograd-autograd{RANGE}", f"neograd-optim{RANGE}"], "expected ['neograd-autograd']"),
        (["numpy>=1.26"], "expected ['neograd-autograd']"),
    ],
)
def test_a_pin_an_open_range_a_range_that_misses_or_a_wrong_direction_is_refused(dependencies, message):
    problems, _ = range_problems(packages(neograd_nn=dependencies))
    assert len(problems) == 1 and message in problems[0], problems


def test_compatible_release_ranges_are_accepted():
    problems, passed = range_problems(packages(neograd_nn=["neograd-autograd~=4.2.0"]))
    assert problems == [] and f"neograd-nn -> neograd-autograd~=4.2.0 admits {FAKE}" in passed


# ---- wheel contents --------------------------------------------------------------------------
def wheels(**changes):
    good = {
        name: [f"{prefix}__init__.py", f"{prefix}__about__.py", f"{prefix}py.typed"]
        for name, prefix in [
            ("neograd-autograd", "neograd/autograd/"),
            ("neograd-nn", "neograd/nn/"),
            ("neograd-optim", "neograd/optim/"),
            ("neograd-distributed", "neograd/distributed/"),
            ("neograd-onnx", "neograd/onnx/"),
            ("neograd", "neograd/"),
        ]
    }
    return {**good, **{k.replace("_", "-"): v for k, v in changes.items()}}


def test_wheels_that_ship_only_their_own_files_pass():
    assert wheel_problems(wheels()) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"neograd_nn": wheels()["neograd-nn"] + ["neograd/__init__.py"]}, "neograd-nn ships stray files"),
        ({"neograd": wheels()["neograd"] + ["neograd/nn/extra.py"]}, "neograd ships stray files"),
        ({"neograd_optim": wheels()["neograd-optim"][:2]}, "neograd-optim lacks"),
        ({"neograd": wheels()["neograd"] + ["neograd/__pycache__/x.pyc"]}, "neograd ships stray files"),
        ({"neograd_nn": wheels()["neograd-nn"] + ["neograd/autograd/x.py"]}, "neograd-nn ships stray files"),
    ],
)
def test_a_wheel_with_another_packages_files_or_without_its_own_is_refused(changes, message):
    problems = wheel_problems(wheels(**changes))
    assert len(problems) >= 1 and message in problems[0], problems


def test_the_meta_package_may_ship_its_own_folders_but_no_file_may_be_in_two_wheels():
    meta = [*wheels()["neograd"], "neograd/utils/__init__.py"]
    assert wheel_problems(wheels(neograd=meta)) == []
    problems = wheel_problems(wheels(neograd=meta + ["neograd/optim/py.typed"]))
    assert problems == [
        "neograd ships stray files: ['neograd/optim/py.typed']",
        "neograd clashes: ['neograd/optim/py.typed (also in neograd-optim)']",
    ]
