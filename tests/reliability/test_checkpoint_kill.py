"""SIGKILL during checkpointing: the newest complete checkpoint always loads, nothing older is lost.

A training process (checkpoint_kill_worker.py) checkpoints after every step and is killed
with SIGKILL at every file-system event of saving a checkpoint in turn (opening the
temporary file, every write, cut in the middle of its bytes, every fsync, the renames, the
deletions of pruned checkpoints), and at random moments from outside. After each kill the
directory is checked from this process: every checkpoint the index lists loads and holds
the parameters it recorded, the newest is the last one whose add() returned (or the one
being added, if the kill came after its index update), and every checkpoint completed
within the newest ``keep`` is still there. Each next process resumes from what the last
one left, and the chain of killed runs ends with exactly the parameters of a run that was
never interrupted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the fault injection forks (POSIX only)")

WORKER_PATH = Path(__file__).with_name("checkpoint_kill_worker.py")
_spec = importlib.util.spec_from_file_location("checkpoint_kill_worker", WORKER_PATH)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


class Server:
    """The worker's fork server: one command in, one JSON answer out, with a deadline."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER_PATH)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, command: str, timeout: float = 60.0) -> dict[str, Any]:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"the worker did not answer {command!r} within {timeout} s")
        answer = json.loads(self.process.stdout.readline())
        assert answer.get("error") is None, answer["error"]
        return answer

    def close(self) -> None:
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Tally:
    """Kill points, checkpoints checked and checkpoints lost, over the whole chain of runs."""

    def __init__(self) -> None:
        self.kills = 0
        self.checked = 0
        self.lost = 0
        # steps whose checkpoint was complete: its add() returned, or a check found it listed
        self.completed: set[int] = set()


def check_directory(dirpath: Path, tally: Tally) -> None:
    """Everything listed loads and is right; the newest is the newest completed; nothing recent is missing."""
    model, optimizer, scheduler = worker.build()
    ckpt = worker.nn.Checkpoint(model, dirpath, optimizer, scheduler, keep=worker.KEEP)
    records = ckpt.records
    steps = [r["step"] for r in records.values()]
    newest_done = max(tally.completed, default=0)
    if not steps:
        assert newest_done == 0, f"every checkpoint was lost; step {newest_done} had completed"
        assert ckpt.resume() is None
        return
    assert steps == sorted(steps) and len(steps) <= worker.KEEP, steps
    # the add() of step newest_done + 1 may have been killed after its index update: then it is listed
    assert steps[-1] in (newest_done, newest_done + 1), (steps, newest_done)
    tally.completed.update(steps)
    must_have = {s for s in tally.completed if s > steps[-1] - worker.KEEP}
    tally.lost += len(must_have - set(steps))
    for name, record in records.items():
        tracked = ckpt.load(name)
        assert tracked["step"] == record["step"]
        assert worker.params_sha(model) == tracked["params"], f"checkpoint {name} holds other parameters"
        tally.checked += 1
    state = ckpt.resume()
    assert state["step"] == steps[-1] and worker.params_sha(model) == state["params"]


def test_sigkill_at_every_point_of_saving_loses_nothing(tmp_path: Path) -> None:
    server = Server()
    try:
        reference = server.ask(f"run {tmp_path / 'reference'} 0")
        assert reference["signal"] is None and reference["final"] is not None
        events = [e for _, e in reference["steps"]]
        per_add = max(b - a for a, b in zip(events, events[1:]))  # events of one add(), pruning included
        assert per_add >= 10, f"only {per_add} file-system events per checkpoint: are the hooks installed?"

        chain, tally = tmp_path / "chain", Tally()

        def run(command: str) -> None:
            answer = server.ask(command)
            assert answer["signal"] == signal.SIGKILL, f"{command}: the worker was not killed: {answer}"
            tally.kills += 1
            tally.completed.update(step for step, _ in answer["steps"])
            check_directory(chain, tally)

        # every event of the first checkpoint ever (no index yet), then of the second add()
        # after a resume (each such run completes one checkpoint: the chain moves on), twice
        for kill_at in range(1, 2 * per_add + 1):
            run(f"run {chain} {kill_at}")
        for kill_at in range(per_add + 1, 2 * per_add + 1):
            run(f"run {chain} {kill_at}")
        rng = random.Random(0)
        for _ in range(25):  # and at moments nobody chose, from outside
            run(f"race {chain} {rng.randrange(0, 15_000)}")

        finished = server.ask(f"run {chain} 0")
        assert finished["signal"] is None
    finally:
        server.close()

    print(
        f"\nfault injection: {tally.kills} kills ({per_add} kill points per checkpoint), "
        f"{tally.checked} checkpoints checked, {tally.lost} lost"
    )
    assert tally.lost == 0
    assert tally.kills >= 2 * per_add + 25
    assert finished["final"] == reference["final"], "training resumed after the kills ended elsewhere"
