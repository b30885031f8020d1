"""A child process with its output in a log file: start, wait for a line, stop or kill.

The fault tests run Ember workers this way, and the benchmarks every contender's worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ember.workflows.testing.servers import ServerError

STOP_TIMEOUT = 60.0
KILL_TIMEOUT = 60.0


def process_state(pid: int) -> str:
    """The kernel's state line for ``pid`` (why a killed process may linger)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return next((line for line in status.splitlines() if line.startswith("State:")), "?")


class LoggedProcess:
    """One child process at a time (restartable), writing stdout and stderr to ``log``.

    Args:
        args: the command line.
        env: the whole environment of the process.
        log: the output file; appended to across restarts (``output`` shows the current run).
        cwd: the working directory.
        stdin: keep a pipe to the process's standard input (see :meth:`send`).
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        log: Path,
        cwd: Path,
        stdin: bool = False,
    ) -> None:
        self.args = list(args)
        self.env = dict(env)
        self.log = log
        self.cwd = cwd
        self.stdin = stdin
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._offset = 0

    @property
    def pid(self) -> int:
        """The process id (once started)."""
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.returncode is None

    async def start(self, ready: str | None = None, timeout: float = 60.0) -> None:
        """Start the process; with ``ready``, wait until it printed that text."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                *self.args,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.PIPE if self.stdin else asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        self.starts += 1
        if ready is not None:
            try:
                await self.wait_for(ready, timeout)
            except BaseException:
                await self.stop()
                raise

    def output(self) -> str:
        """What the current run printed so far."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            return handle.read().decode(errors="replace")

    async def wait_for(self, text: str, timeout: float) -> None:
        """Wait until the current run printed ``text``.

        Raises:
            ServerError: the process exited first.
            TimeoutError: ``timeout`` seconds passed first.
        """
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if not self.running:
                code = None if self.process is None else self.process.returncode
                raise ServerError(
                    f"expected {' '.join(self.args)} to print {text!r}, found it exited with "
                    f"{code}; see {self.log}:\n{self.output()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {text!r} within {timeout:g}s; see {self.log}")
            await asyncio.sleep(0.05)

    async def send(self, line: str) -> None:
        """Write one line to the process's standard input."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def kill(self, timeout: float = KILL_TIMEOUT) -> None:
        """SIGKILL: no drain, no cleanup; waits until the process is gone.

        Raises:
            TimeoutError: the process was still there ``timeout`` seconds later.
        """
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"process {process.pid} still there {timeout:g}s after SIGKILL "
                f"({process_state(process.pid)})"
            ) from None

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM and wait for it to exit (SIGKILL after ``timeout``); the exit code."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                await self.kill()
        return process.returncode
