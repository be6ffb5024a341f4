"""The errors a command reports to its user as they are: a message, no traceback."""

from __future__ import annotations


class GcfError(Exception):
    """Something the user can fix; the message says what and how."""
