"""Launch ``mpiexec -n N python script.py`` from a test, with a time limit (for test_dist_mpi.py).

mpiexec is the one next to the interpreter (the mpich wheel puts it in the environment's
bin/, which need not be on PATH). A job that outlives its time limit is stopped with SIGTERM
to mpiexec: Hydra starts the ranks in their own sessions, so SIGKILL would orphan them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@dataclass
class Job:
    returncode: int
    output: str  # stdout and stderr, interleaved as they came
    seconds: float


def mpiexec() -> str:
    path = Path(sys.executable).parent / ("mpiexec.exe" if os.name == "nt" else "mpiexec")
    if not path.exists():
        raise RuntimeError(
            f"no mpiexec next to {sys.executable}: install neograd-distributed[mpich] (the hatch "
            "environments do)"
        )
    return str(path)


def run_job(script: str, n: int | None, *args: str, timeout: float = 60) -> Job:
    """Run ``script`` (a path, or a file of tests/distributed) on ``n`` ranks (None: plain python,
    a world of size 1)."""
    import time

    command = [sys.executable, str(HERE / script), *args]
    if n is not None:
        command = [mpiexec(), "-n", str(n), *command]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()  # SIGTERM: mpiexec passes it on to the ranks
        try:
            output, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail(f"{' '.join(command[-3:])} did not finish within {timeout}s:\n{output[-4000:]}")
    return Job(process.returncode, output, time.perf_counter() - start)
