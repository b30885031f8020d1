"""Worker subprocesses (``python worker.py run``) for the fault tests: start, kill, stop."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from ember.workflows.testing.processes import LoggedProcess

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "ember: schedules"
READY_TIMEOUT = 60.0


class WorkerProcess(LoggedProcess):
    """One ``python worker.py run`` of the fault app, its output in ``log``.

    Args:
        env: the ``EMBER_*`` settings and ``EMBER_FAULT_*`` knobs.
        log: file receiving stdout and stderr (appended to across restarts).
    """

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        super().__init__(
            [sys.executable, str(ROOT / "worker.py"), "run"],
            env={
                **os.environ,
                "EMBER_APP": "tests.faults.ledger_app:domain",
                "PYTHONPATH": str(ROOT),
                **env,
            },
            log=log,
            cwd=ROOT,
        )

    async def start(self, ready: str | None = READY_LINE, timeout: float = READY_TIMEOUT) -> None:
        """Start the worker; by default wait until it logged that it synced and runs."""
        await super().start(ready, timeout)
        print(f"{time.strftime('%H:%M:%S')} worker {self.pid} started", flush=True)

    async def kill(self, timeout: float = 60.0) -> None:
        """SIGKILL: no drain, no cleanup, in-flight work is abandoned."""
        if self.running:
            await super().kill(timeout)
            print(f"{time.strftime('%H:%M:%S')} worker {self.pid} killed", flush=True)

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
