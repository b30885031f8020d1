"""Bounding the messages Ember carries: every error text fits in a few KB, marked when cut.

Pure functions only: imported inside the workflow sandbox (through ``ember.activities.types``).
"""

from __future__ import annotations

MESSAGE_LIMIT = 4096
"""UTF-8 bytes of an error message (or reason) Ember keeps, marker included."""

TYPE_LIMIT = 256
"""UTF-8 bytes of an error type name Ember keeps."""


def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` if it fits in ``limit`` UTF-8 bytes, else its start marked ``… [cut: N bytes]``.

    ``N`` is the size of the whole text; the result, marker included, fits in ``limit``
    (so cutting it again changes nothing).
    """
    if len(text) * 4 <= limit:  # even four bytes a character fits
        return text
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    marker = f"… [cut: {len(data)} bytes]"
    keep = max(limit - len(marker.encode()), 0)
    return data[:keep].decode("utf-8", "ignore") + marker


def describe(error: BaseException, limit: int = MESSAGE_LIMIT) -> str:
    """The error's message (its type name when it has none), cut to ``limit`` bytes."""
    return cut(str(error) or type(error).__name__, limit)
