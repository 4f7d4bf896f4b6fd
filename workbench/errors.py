"""The base of every error the workbench raises for a user's mistake.

Callers at the edges (command line, pages) catch ``WorkbenchError`` and show
its message; anything else is a bug and is reported as one.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """A problem the user can fix; the message says what and where."""
