"""Worker subprocesses of the contenders, and the peak memory of their process trees.

Each contender's worker runs in its own process so that its resident memory is its own:
:class:`WorkerProcess` starts it with its output in a log file, waits for the line that
says it is ready, and stops it with SIGTERM; :class:`RssSampler` samples the resident set
of the process and its children while a measurement runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import psutil

from ember.workflows.testing.processes import LoggedProcess

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 60.0
MB = 1024 * 1024


class WorkerProcess(LoggedProcess):
    """A contender's worker process, started on entering and stopped (SIGTERM) on leaving.

    Args:
        args: the command line (``sys.executable`` is prepended when it starts with ``-m``).
        env: extra environment variables.
        log: where stdout and stderr go.
        ready: text of the output line that says the worker is ready.
        stdin: keep a pipe to the process's standard input (see :meth:`send`).
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        log: Path,
        ready: str,
        stdin: bool = False,
    ) -> None:
        super().__init__(
            [sys.executable, *args] if args[0] in ("-m", "worker.py") else list(args),
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            log=log,
            cwd=ROOT,
            stdin=stdin,
        )
        self.ready = ready

    async def __aenter__(self) -> WorkerProcess:
        await self.start(self.ready, READY_TIMEOUT)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def tree_rss(pid: int) -> int:
    """Resident bytes of process ``pid`` and all its descendants (0 once it is gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += int(process.memory_info().rss)
    return total


class RssSampler:
    """Samples :func:`tree_rss` of ``pid`` every ``interval`` seconds while entered."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RssSampler:
        self._sample()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()

    def _sample(self) -> None:
        rss = tree_rss(self.pid)
        if rss:
            self.samples.append((time.monotonic(), rss))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self._sample()

    @property
    def peak_mb(self) -> float:
        """The largest sample, in MiB."""
        return max((rss for _, rss in self.samples), default=0) / MB

    def mb_at(self, fraction: float) -> float:
        """The sample taken ``fraction`` (0..1) of the way through, in MiB."""
        if not self.samples:
            return 0.0
        index = min(int(fraction * len(self.samples)), len(self.samples) - 1)
        return self.samples[index][1] / MB


def tree_cpu(pid: int, *, children: bool = True) -> float:
    """User + system CPU seconds of ``pid`` (and its live descendants) so far."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)] if children else [root]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def server_pids(postgres_data_dir: Path) -> dict[str, int]:
    """The shared servers' root processes: ``temporal`` (our child) and the postmaster."""
    pids: dict[str, int] = {}
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if child.name() == "temporal":
                pids["temporal"] = child.pid
    pid_file = postgres_data_dir / "postmaster.pid"
    if pid_file.exists():
        pids["postgres"] = int(pid_file.read_text().split()[0])
    return pids


class CpuMeter:
    """CPU seconds each named process tree used between entering and leaving.

    ``harness`` is this process alone (the client loops and deferrals of the baselines
    run here), without its children (the servers and workers, counted on their own).
    """

    def __init__(self, roots: Mapping[str, int]) -> None:
        self.roots = {**roots, "harness": os.getpid()}
        self._before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self._before = {name: self._cpu(name, pid) for name, pid in self.roots.items()}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.used = {
            name: max(self._cpu(name, pid) - self._before[name], 0.0)
            for name, pid in self.roots.items()
        }

    @staticmethod
    def _cpu(name: str, pid: int) -> float:
        return tree_cpu(pid, children=name != "harness")
