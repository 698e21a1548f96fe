"""How the explanation tests read a text: its clauses, and the numbers no text may hold."""

from __future__ import annotations

import re

#: a number in scientific notation (1e-05, 6.45e-11, 2E+30)
SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
NOT_A_NUMBER = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)


def no_bad_numbers(text: str) -> None:
    """No number in scientific notation, and no nan or inf."""
    assert SCIENTIFIC.search(text) is None, text
    assert NOT_A_NUMBER.search(text) is None, text


def clauses(text: str) -> list[str]:
    """The clauses of an explanation: between the colons, semicolons and full stops."""
    return [c for c in re.split(r": |; |\. |\.$|, on the features above", text) if c]
