"""Fast scalar random draws for the per-event loop, served from batches of a numpy Generator."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

_BATCH = 2048


class Rand:
    """Scalar uniform/normal/exponential draws from one seeded numpy Generator, batched."""

    __slots__ = ("_exp", "_gen", "_nrm", "_uni")

    def __init__(self, gen: np.random.Generator) -> None:
        """Wrap ``gen``; the draws are a pure function of its state."""
        self._gen = gen
        self._uni: list[float] = []
        self._nrm: list[float] = []
        self._exp: list[float] = []

    @property
    def generator(self) -> np.random.Generator:
        """The wrapped numpy Generator (for vector draws)."""
        return self._gen

    def u(self) -> float:
        """Uniform in [0, 1)."""
        buf = self._uni
        if not buf:
            buf.extend(self._gen.random(_BATCH).tolist())
        return buf.pop()

    def normal(self) -> float:
        """Standard normal."""
        buf = self._nrm
        if not buf:
            buf.extend(self._gen.standard_normal(_BATCH).tolist())
        return buf.pop()

    def exp(self) -> float:
        """Standard exponential (mean 1)."""
        buf = self._exp
        if not buf:
            buf.extend(self._gen.standard_exponential(_BATCH).tolist())
        return buf.pop()

    def uniform(self, low: float, high: float) -> float:
        """Uniform in [low, high)."""
        return low + (high - low) * self.u()

    def loguniform(self, low: float, high: float) -> float:
        """Log-uniform in [low, high)."""
        return low * math.exp(math.log(high / low) * self.u())

    def lognormal(self, median: float, sigma: float) -> float:
        """Log-normal with the given median and log-space sigma."""
        return median * math.exp(sigma * self.normal())

    def randint(self, low: int, high: int) -> int:
        """Integer uniform in [low, high] (both ends included)."""
        return low + int(self.u() * (high - low + 1))

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.u() < p

    def pick(self, items: Sequence[int]) -> int:
        """One element of a non-empty sequence, uniformly."""
        return items[int(self.u() * len(items))]

    def pick_cum(self, cumulative: Sequence[float]) -> int:
        """Index drawn with weights given as a cumulative sum (last element = total)."""
        return min(bisect_right(cumulative, self.u() * cumulative[-1]), len(cumulative) - 1)

    def sign(self) -> int:
        """+1 or -1 with equal probability."""
        return 1 if self.u() < 0.5 else -1
