"""The error raised for whole-file problems with an input file."""

from __future__ import annotations

from tapewatch.errors import UserError


def one_line(text: str) -> str:
    """Collapse a possibly multi-line message into one line."""
    return " ".join(text.split())


class ContractError(UserError):
    """A whole file breaks the data contract: empty, unreadable, or missing a required column.

    ``str()`` is one line naming the file and the problem, e.g.
    ``events.csv: missing required column 'side'``.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(source, problem)
        self.source = source
        self.problem = one_line(problem)

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}" if self.source else self.problem
