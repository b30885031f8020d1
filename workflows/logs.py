"""JSON log lines (``EMBER_LOG_JSON``), one object per line, for log collectors."""

from __future__ import annotations

import json
import logging


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (EMBER_LOG_JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def use_json_logs() -> None:
    """Switch every handler of the root logger to JSON lines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLogFormatter())
