"""The base of the errors a user can fix (a bad file, a bad model directory, bad labels)."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave: the command line says it in one line, no traceback."""
