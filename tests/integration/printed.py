"""A command's output, read line by line until it prints what a test waits for."""

from __future__ import annotations

import asyncio


class PrintedLines:
    """The lines ``process`` (its stdout a pipe) printed so far."""

    def __init__(self, process: asyncio.subprocess.Process, command: str) -> None:
        assert process.stdout is not None, f"{command}: expected its stdout to be a pipe"
        self.stream = process.stdout
        self.command = command
        self.lines: list[str] = []

    async def until(self, marker: str) -> None:
        """Read until a line holds ``marker``; fail if the command ends first."""
        while not any(marker in line for line in self.lines):
            line = await self.stream.readline()
            assert line, f"{self.command} ended before printing {marker!r}: {self.lines}"
            self.lines.append(line.decode())

    def starting(self, prefix: str) -> str:
        """The first line starting with ``prefix`` (leading spaces ignored), stripped."""
        return next(line.strip() for line in self.lines if line.strip().startswith(prefix))
