"""neograd.distributed under MPI: the scripts mpi_*.py run on 2 ranks (mpiexec) and alone (world of one).

Each script runs its checks on every rank and exits non-zero if any failed; the output
names the failed check, the rank and the traceback.
"""

import re

import pytest
from dist_launch import HERE, run_job


@pytest.mark.parametrize("ranks", [2, None], ids=["2-ranks", "alone"])
@pytest.mark.parametrize("script", ["mpi_collectives.py", "mpi_ddp.py"])
def test_checks_pass_on_every_rank(script, ranks):
    job = run_job(script, ranks, timeout=90)
    assert job.returncode == 0, job.output
    world = ranks or 1
    for rank in range(world):
        assert f"rank {rank}/{world}: " in job.output and " 0 failed" in job.output, job.output


def test_a_failing_rank_ends_the_job_with_its_traceback():
    job = run_job("mpi_failing_rank.py", 2, timeout=60)
    assert job.returncode != 0
    assert "ValueError: rank failed on purpose" in job.output
    assert "Traceback (most recent call last)" in job.output
    assert "the job went on" not in job.output


def test_the_ddp_digits_example_trains_on_2_ranks():
    job = run_job(str(HERE.parents[1] / "examples" / "ddp_digits.py"), 2, "--epochs", "1", timeout=120)
    assert job.returncode == 0, job.output
    (accuracy,) = re.findall(r"^test accuracy: ([0-9.]+)$", job.output, flags=re.M)
    assert 0.5 <= float(accuracy) <= 1
    assert "2 process(es)" in job.output
