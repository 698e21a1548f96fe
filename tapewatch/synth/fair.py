"""An instrument's fair value: a half-tick random walk plus the decaying impact of order flow."""

from __future__ import annotations

import math

STEP = 0.5
_IMPACT_DECAY_S = 120.0
PERMANENT_IMPACT = 0.1


class FairValue:
    """Fair value in ticks: permanent level plus a transient part that decays back."""

    __slots__ = ("_floor", "_imp", "_imp_t", "_level")

    def __init__(self, start: float) -> None:
        """Start at ``start`` ticks; the walk reflects off a fifth of that level."""
        self._level = start
        self._floor = 0.2 * start
        self._imp = 0.0
        self._imp_t = 0.0

    def at(self, t_s: float) -> float:
        """The fair value at ``t_s`` seconds after the open."""
        imp = self._imp
        if imp:
            dt = t_s - self._imp_t
            if dt > 0:
                imp *= math.exp(-dt / _IMPACT_DECAY_S)
                if -0.05 < imp < 0.05:
                    imp = 0.0
                self._imp = imp
                self._imp_t = t_s
        return self._level + imp

    def step(self, up: bool) -> None:
        """One half-tick step of the random walk."""
        level = self._level + (STEP if up else -STEP)
        self._level = level if level > self._floor else 2 * self._floor - level

    def shift(self, t_s: float, ticks: float, permanent: float) -> None:
        """Move by ``ticks``, of which the ``permanent`` share stays and the rest decays."""
        self._imp = self.at(t_s) - self._level + ticks * (1.0 - permanent)
        self._imp_t = t_s
        self._level += ticks * permanent
