"""Who may do what in the store, and how long its records are kept: the rules the command
line shows without loading the database layer."""

from __future__ import annotations

import enum

#: the default (and the least) retention of audit entries, in years
RETENTION_YEARS = 5


class Role(enum.StrEnum):
    """What a user may do: a viewer reads, an analyst also reviews, an admin also changes
    thresholds and models and manages users."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Higher ranks may do everything lower ones may."""
        return (Role.VIEWER, Role.ANALYST, Role.ADMIN).index(self)
