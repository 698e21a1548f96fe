"""A simulated market with labelled abuse: order books, normal participants, injected episodes.

``generate_market(MarketConfig(...))`` returns one day as a ``LABELLED_EVENT_SCHEMA`` table,
rows in time order (ties in causal order), the same bytes for the same config. Conventions
worth knowing when reading the tape:

- every instrument is its own price-time priority book; an aggressive order's NEW row comes
  first, then two EXECUTED rows per fill (aggressor first), at the NEW's timestamp;
- ``bid_*``/``ask_*`` are the book just before the row; both rows of a fill show the book
  just before that fill;
- a MARKET order's NEW has no price; its unfilled rest is a CANCELLED row at once (priced at
  its last fill, or the last trade);
- accounts that use self-trade prevention cancel their own resting orders (CANCELLED rows)
  right before an order of theirs would trade with them.

Importing the package imports none of its modules: each name is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapewatch.lazy import lazy_exports

if TYPE_CHECKING:
    from tapewatch.synth.config import AbuseMix, MarketConfig
    from tapewatch.synth.market import generate_market
    from tapewatch.synth.summary import TypologySummary, summarize

__all__ = [
    "AbuseMix",
    "MarketConfig",
    "TypologySummary",
    "generate_market",
    "summarize",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tapewatch.synth.config": (
            "AbuseMix",
            "MarketConfig",
        ),
        "tapewatch.synth.market": ("generate_market",),
        "tapewatch.synth.summary": (
            "TypologySummary",
            "summarize",
        ),
    },
)
