"""Every ```python block of the READMEs runs, prints what its comments say, and needs only its package.

Each README's blocks run in order in one fresh interpreter, each block in its own namespace
and in a temporary directory (blocks may write files). A block of a package's README runs
with only that package and what it depends on importable, as after ``pip install`` of that
package alone: the other packages' source roots (the workspace's editable installs) are
taken off ``sys.path`` first.

A ``print(...)`` whose trailing comment starts like a value (``tensor(``, ``[``, ``(``, a
number, ``True``/``False``, ``digraph``) must print exactly that comment.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "packages"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
CHECKED_PRINT = re.compile(r"^\s*print\(.*\)\s+# ((?:tensor\(|\[|\(|-?\d|True|False|digraph).*)$")

# which packages each README's code may use (a package's own and those it depends on)
READMES = {
    "README.md": ["neograd", "neograd-autograd", "neograd-nn", "neograd-optim"],
    "packages/neograd/README.md": ["neograd", "neograd-autograd", "neograd-nn", "neograd-optim"],
    "packages/neograd-autograd/README.md": ["neograd-autograd"],
    "packages/neograd-nn/README.md": ["neograd-autograd", "neograd-nn"],
    "packages/neograd-optim/README.md": ["neograd-autograd", "neograd-optim"],
    "packages/neograd-distributed/README.md": ["neograd-autograd", "neograd-nn", "neograd-distributed"],
    "packages/neograd-onnx/README.md": ["neograd-autograd", "neograd-nn", "neograd-onnx"],
}

# Runs the blocks ([{"line", "code"}] on stdin) with the given source roots off sys.path; prints
# {"printed": {block: {line: [text]}}, "parts": the neograd.X packages loaded, "meta": whether
# the meta-package's neograd/__init__.py ran}.
RUNNER = r"""
import builtins, json, os, sys
hidden = {os.path.realpath(p) for p in json.loads(sys.argv[1])}
missing = hidden - {os.path.realpath(p) for p in sys.path}
if missing:
    sys.exit(f"not on sys.path (these tests need the workspace's editable installs): {sorted(missing)}")
sys.path[:] = [p for p in sys.path if os.path.realpath(p) not in hidden]
blocks = json.load(sys.stdin)
printed = {}
for i, block in enumerate(blocks):
    name = f"<{sys.argv[2]}, the block from line {block['line']}>"
    lines = printed.setdefault(i, {})

    def print_(*args, sep=" ", end="\n", file=None, flush=False, _lines=lines, _name=name):
        frame = sys._getframe(1)
        if frame.f_code.co_filename == _name:
            _lines.setdefault(frame.f_lineno, []).append(sep.join(map(str, args)))
        builtins.print(*args, sep=sep, end=end, file=sys.stderr if file is None else file, flush=flush)

    exec(compile(block["code"], name, "exec"), {"__name__": "__main__", "print": print_})
parts = sorted({m.split(".")[1] for m in sys.modules if m.startswith("neograd.")})
meta = getattr(sys.modules.get("neograd"), "__file__", None) is not None  # a namespace package has none
print(json.dumps({"printed": printed, "parts": parts, "meta": meta}))
"""


def blocks_of(readme):
    """The python blocks of a README: [(line of the block's first code line, code)]."""
    text = readme.read_text()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_every_readme_has_python_blocks():
    assert set(READMES) == {"README.md"} | {str(p.relative_to(ROOT)) for p in PACKAGES.glob("*/README.md")}, (
        "a new package README: add it to READMES"
    )
    for name in READMES:
        assert blocks_of(ROOT / name), f"{name} has no ```python block"


@pytest.mark.parametrize("name", READMES)
def test_readme_blocks_run_and_print_what_they_say(name, tmp_path):
    blocks = blocks_of(ROOT / name)
    allowed = READMES[name]
    hidden = [str(p / "src") for p in PACKAGES.iterdir() if p.name not in allowed and (p / "src").is_dir()]
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(hidden), name],
        input=json.dumps([{"line": line, "code": code} for line, code in blocks]),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{name}:\n{proc.stderr}"
    result = json.loads(proc.stdout)

    if "neograd" not in allowed:  # a package's README: nothing but that package and its dependencies
        own = {p.removeprefix("neograd-") for p in allowed}
        assert not result["meta"] and set(result["parts"]) <= own, f"{name} used {result['parts']}"
        assert name.split("/")[1].removeprefix("neograd-") in result["parts"]

    checked = 0
    for i, (first_line, code) in enumerate(blocks):
        printed = result["printed"][str(i)]
        for number, line in enumerate(code.splitlines(), 1):
            expected_output = CHECKED_PRINT.match(line)
            if expected_output:
                where = f"{name}:{first_line + number - 1}"
                assert printed.get(str(number)) == [expected_output.group(1).strip()], where
                checked += 1
    assert checked > 0 or name == "packages/neograd/README.md"


@pytest.mark.parametrize("name", READMES)
def test_readme_links_to_files_of_the_repository_resolve(name):
    readme = ROOT / name
    targets = re.findall(r"\]\(([^)#\s]+)\)", readme.read_text())
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert [t for t in local if not (readme.parent / t).exists()] == []
    if name == "README.md":
        assert "examples/seed_graph.svg" in local and "packages/neograd-nn/README.md" in local
