"""A simulated market with labelled abuse: order books, normal participants, injected episodes."""

from tapewatch.synth.config import AbuseMix, MarketConfig
from tapewatch.synth.market import generate_market
from tapewatch.synth.summary import TypologySummary, summarize

__all__ = ["AbuseMix", "MarketConfig", "TypologySummary", "generate_market", "summarize"]
