"""Headless Chromium for ``bench.ui_check``: render a page, keep its screenshot and DOM.

Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package; ``make ui-check`` installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = "1600,1000"
# Virtual time Chromium gives the page (its timers; it also waits for pending fetches)
# before it takes the screenshot and dumps the DOM.
RENDER_BUDGET_MS = 15_000
# Flags that keep Chromium off the network (refused here) and out of any real profile.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
CHROMIUM_TIMEOUT = 90.0


class SetupFailed(Exception):
    """Something did not start or did not finish in time (exit status 2)."""


@dataclass
class Page:
    """One page rendered by headless Chromium."""

    url: str
    screenshot: Path
    dom: str

    def keep_dom(self) -> Path:
        """Save the rendered DOM beside the screenshot (for a failure); return its path."""
        path = self.screenshot.with_suffix(".html")
        path.write_text(self.dom, encoding="utf-8")
        return path


async def run_chromium(args: list[str], profile: Path, timeout: float) -> str:
    """Run headless Chromium with ``args``; return its stdout.

    Raises:
        SetupFailed: it failed or did not finish within ``timeout`` seconds (then it and
            its helper processes are killed).
    """
    command = [
        str(CHROMIUM),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW}",
        f"--virtual-time-budget={RENDER_BUDGET_MS}",
        *args,
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so a timeout kills the helpers too
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        raise SetupFailed(
            f"expected Chromium to render within {timeout:g}s, found it still running; "
            f"command: {' '.join(command)}"
        ) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if process.returncode != 0:
        tail = stderr.decode(errors="replace")[-2000:]
        raise SetupFailed(
            f"expected Chromium to exit 0, found {process.returncode}; "
            f"command: {' '.join(command)}\n{tail}"
        )
    return stdout.decode(errors="replace")


def fresh_files(*paths: Path) -> None:
    """Make the directories of ``paths`` and remove older files there."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)


def written(path: Path) -> bool:
    """Whether ``path`` is a non-empty file."""
    return path.is_file() and path.stat().st_size > 0


async def render(url: str, screenshot: Path, scratch: Path) -> Page:
    """Screenshot ``url`` to ``screenshot``; return the page with its rendered DOM.

    One Chromium run with a fresh profile. A DOM kept by an earlier failure is removed.
    """
    fresh_files(screenshot, screenshot.with_suffix(".html"))
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=scratch))
    dom = await run_chromium(
        [f"--screenshot={screenshot}", "--dump-dom", url], profile, CHROMIUM_TIMEOUT
    )
    if not written(screenshot):
        raise SetupFailed(f"expected Chromium to write {screenshot}, found no file")
    return Page(url, screenshot, dom)
