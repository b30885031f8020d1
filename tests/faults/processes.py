"""Worker subprocesses (``python worker.py run``) for the fault tests: start, kill, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "ember: schedules"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
KILL_TIMEOUT = 60.0


def _state(pid: int) -> str:
    """The kernel's state line for ``pid`` (why a killed process may linger)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return next((line for line in status.splitlines() if line.startswith("State:")), "?")


class WorkerProcess:
    """One ``python worker.py run`` of the fault app, its output in ``log``.

    Args:
        env: the ``EMBER_*`` settings and ``EMBER_FAULT_*`` knobs.
        log: file receiving stdout and stderr (appended to across restarts).
    """

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env = {
            **os.environ,
            "EMBER_APP": "tests.faults.ledger_app:domain",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._offset = 0

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.returncode is None

    async def start(self, *, wait_ready: bool = True) -> None:
        """Start the worker; by default wait until it logged that it synced and runs."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "worker.py"),
                "run",
                cwd=ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        self.starts += 1
        if wait_ready:
            await self.wait_for_output(READY_LINE, READY_TIMEOUT)
        print(f"{time.strftime('%H:%M:%S')} worker {self.process.pid} started", flush=True)

    def output(self) -> str:
        """What the current run wrote so far."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            return handle.read().decode(errors="replace")

    async def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until the current run printed ``text``; fail if it exits or time runs out."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if not self.running:
                raise AssertionError(f"worker exited before {text!r}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker printed no {text!r} in {timeout:g}s")
            await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL: no drain, no cleanup, in-flight work is abandoned."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            try:
                await asyncio.wait_for(self.process.wait(), KILL_TIMEOUT)
            except TimeoutError:
                raise AssertionError(
                    f"worker {self.process.pid} still there {KILL_TIMEOUT:g}s after SIGKILL "
                    f"({_state(self.process.pid)})"
                ) from None
            print(f"{time.strftime('%H:%M:%S')} worker {self.process.pid} killed", flush=True)

    async def stop(self) -> int:
        """SIGTERM and wait for the drain (SIGKILL after ``STOP_TIMEOUT``); the exit code."""
        assert self.process is not None
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                await self.kill()
        assert self.process.returncode is not None
        return self.process.returncode

    async def __aenter__(self) -> WorkerProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.kill()
