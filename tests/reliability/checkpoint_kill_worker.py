"""Fault injection for test_checkpoint_kill.py: training that checkpoints every step, killed mid-save.

Runs as a fork server, so that each killed process costs a fork rather than a fresh
interpreter. It reads one command per line on stdin and answers one JSON line per command:

    run DIRPATH KILL_AT     fork a child that resumes training from DIRPATH, adds a checkpoint
                            after every step and sends itself SIGKILL at its KILL_AT-th
                            file-system event (KILL_AT 0: never; it trains to the end)
    race DIRPATH DELAY_US   fork a child as `run DIRPATH 0`, and SIGKILL it DELAY_US
                            microseconds after it has resumed
    quit

The events are every call that changes the disk while a checkpoint is saved: opening the
temporary file, each write (a killed write first writes half of its bytes), each fsync,
the rename, each unlink. The answer: {"signal": the child's killing signal or null,
"steps": [[step, events so far], ...] for each add() that returned, "final": the SHA-256
of the parameters once training finished (or null)}.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
from typing import Any

import numpy as np

import neograd.autograd as ng
from neograd import nn
from neograd.optim import Adam
from neograd.optim.lr_scheduler import StepLR

TOTAL_STEPS = 150
KEEP = 3


def params_sha(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(p.data.tobytes())
    return digest.hexdigest()


def build() -> tuple[nn.Module, Adam, StepLR]:
    """The model, optimizer and scheduler, freshly initialised (resume() overwrites them)."""
    ng.manual_seed(0)
    np.random.seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 1))
    optimizer = Adam(model.parameters(), lr=0.01)
    return model, optimizer, StepLR(optimizer, step_size=5, gamma=0.9)


def train(dirpath: str, report: int) -> None:
    """Resume from dirpath and train to TOTAL_STEPS, one checkpoint per step (the child's work)."""
    data = np.random.default_rng(1).standard_normal((32, 4)).astype(np.float32)
    target = data.sum(axis=1, keepdims=True) * 0.5
    model, optimizer, scheduler = build()
    ckpt = nn.Checkpoint(model, dirpath, optimizer, scheduler, keep=KEEP)
    state = ckpt.resume()
    step = state["step"] if state else 0
    os.write(report, b"ready\n")
    while step < TOTAL_STEPS:
        step += 1
        batch = ng.randperm(32)[:8].data  # neograd's generator: restored by resume()
        noise = np.random.standard_normal((8, 4)).astype(np.float32) * 0.01  # NumPy's global one
        x, y = ng.tensor(data[batch] + noise), ng.tensor(target[batch])
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        ckpt.add(step=step, loss=loss.item(), params=params_sha(model))
        os.write(report, f"step {step} {EVENTS[0]}\n".encode())
    os.write(report, f"final {params_sha(model)}\n".encode())


# ---- the file-system events, counted and killed at ------------------------------------------------
EVENTS = [0]
KILL_AT = [0]


def event() -> bool:
    """Count an event; True if this is the one to die at."""
    EVENTS[0] += 1
    return EVENTS[0] == KILL_AT[0]


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KilledFile:
    """A file whose writes are events: the fatal one writes half its bytes, reaches the disk, dies."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def write(self, data: Any) -> int:
        if event():
            raw = bytes(memoryview(data).cast("B"))
            self._f.write(raw[: len(raw) // 2])
            self._f.flush()
            die()
        return self._f.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> KilledFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._f.__exit__(*exc_info)


def install_hooks() -> None:
    real = {name: getattr(os, name) for name in ("fdopen", "fsync", "replace", "unlink")}

    def fdopen(*args: Any, **kwargs: Any) -> Any:
        f = real["fdopen"](*args, **kwargs)
        if event():
            die()
        return KilledFile(f)

    def wrap(name: str) -> Any:
        def hooked(*args: Any, **kwargs: Any) -> Any:
            if event():
                die()
            return real[name](*args, **kwargs)

        return hooked

    os.fdopen = fdopen
    for name in ("fsync", "replace", "unlink"):
        setattr(os, name, wrap(name))


# ---- the server ------------------------------------------------------------------------------------
def spawn(dirpath: str, kill_at: int) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: train, and die where told
        os.close(read_end)
        code = 0
        try:
            KILL_AT[0] = kill_at
            install_hooks()
            train(dirpath, write_end)
        except BaseException as e:
            os.write(write_end, f"error {type(e).__name__}: {e}\n".encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    return pid, read_end


def collect(pid: int, read_end: int, delay_us: int | None = None) -> dict[str, Any]:
    lines: list[str] = []
    with os.fdopen(read_end, "rb") as pipe:
        buffer = b""
        if delay_us is not None:  # wait for "ready", then kill from outside
            while b"ready\n" not in buffer:
                chunk = pipe.read1(4096)
                if not chunk:
                    break
                buffer += chunk
            time.sleep(delay_us / 1e6)
            os.kill(pid, signal.SIGKILL)
        buffer += pipe.read()
    _, status = os.waitpid(pid, 0)
    lines = buffer.decode().splitlines()
    result: dict[str, Any] = {
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "steps": [],
        "final": None,
        "error": None,
    }
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind == "step":
            result["steps"].append([int(v) for v in rest.split()])
        elif kind == "final":
            result["final"] = rest
        elif kind == "error":
            result["error"] = rest
    return result


def main() -> None:
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] == "quit":
            break
        if command[0] == "run":
            pid, read_end = spawn(command[1], int(command[2]))
            result = collect(pid, read_end)
        elif command[0] == "race":
            pid, read_end = spawn(command[1], 0)
            result = collect(pid, read_end, int(command[2]))
        else:
            result = {"error": f"unknown command {command[0]!r}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
