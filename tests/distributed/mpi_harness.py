"""Run a worker script's ``check_*`` functions on every rank and report (imported by the mpi_*.py scripts).

Each check runs on every rank in the same order; a failing check is reported with its
traceback and the rank. The exit status is non-zero if any check failed on this rank.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import neograd.distributed as dist


def run_checks(namespace: dict[str, Any]) -> None:
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    checks = [(name, f) for name, f in namespace.items() if name.startswith("check_") and callable(f)]
    failed = []
    for name, check in checks:
        try:
            check()
        except Exception:
            failed.append(name)
            print(f"FAIL rank {rank}/{size} {name}:\n{traceback.format_exc()}", flush=True)
    if dist.is_initialized():
        dist.destroy_process_group()
    print(f"rank {rank}/{size}: {len(checks) - len(failed)} passed, {len(failed)} failed", flush=True)
    sys.exit(1 if failed else 0)
