"""How busy an instrument is right now: the intraday shape, news excitement, and the slow
controller that keeps the day's normal event count on its target."""

from __future__ import annotations

import math

from tapewatch.synth.rng import Rand

CONTROL_EVERY_S = 30.0
_CONTROL_HORIZON_S = 1200.0


class Profile:
    """Intraday U-shaped activity: busier after the open and towards the close."""

    __slots__ = ("_close_amp", "_close_tau", "_open_amp", "_open_tau", "_t", "_total")

    def __init__(self, session_s: float, rand: Rand) -> None:
        """Draw the shape's amplitudes and time scales for one instrument."""
        self._t = session_s
        self._open_amp = rand.uniform(0.8, 2.0)
        self._open_tau = rand.uniform(600.0, 1800.0)
        self._close_amp = rand.uniform(0.8, 2.0)
        self._close_tau = rand.uniform(600.0, 1500.0)
        self._total = self._cum(session_s)

    def at(self, t_s: float) -> float:
        """Relative intensity at ``t_s`` seconds after the open (mean about 1)."""
        shape = (
            1.0
            + self._open_amp * math.exp(-t_s / self._open_tau)
            + self._close_amp * math.exp(-(self._t - t_s) / self._close_tau)
        )
        return shape * self._t / self._total

    def _cum(self, t_s: float) -> float:
        return (
            t_s
            + self._open_amp * self._open_tau * (1.0 - math.exp(-t_s / self._open_tau))
            + self._close_amp
            * self._close_tau
            * (math.exp(-(self._t - t_s) / self._close_tau) - math.exp(-self._t / self._close_tau))
        )

    def share(self, t_s: float) -> float:
        """Expected share of the day's activity done by ``t_s``."""
        return self._cum(min(max(t_s, 0.0), self._t)) / self._total


class Pace:
    """Rate multiplier for every normal participant: profile x excitement x volume control."""

    __slots__ = (
        "_heat",
        "_heat_t",
        "_heat_tau",
        "_last_n",
        "_last_t",
        "activity",
        "profile",
        "session_s",
        "target",
    )

    def __init__(self, session_s: float, target: int, rand: Rand) -> None:
        """Start at the profile's pace, aiming at ``target`` normal events by the close."""
        self.profile = Profile(session_s, rand)
        self.session_s = session_s
        self.target = target
        self.activity = 1.0
        self._heat = 0.0
        self._heat_t = 0.0
        self._heat_tau = 60.0
        self._last_t = 0.0
        self._last_n = 0

    def scale(self, t_s: float) -> float:
        """The multiplier at ``t_s`` seconds after the open."""
        return self.profile.at(t_s) * self.activity * self.heat(t_s)

    def heat(self, t_s: float) -> float:
        """Excitement after news: 1 plus a decaying bump."""
        if self._heat <= 0.01:
            return 1.0
        return 1.0 + self._heat * math.exp(-(t_s - self._heat_t) / self._heat_tau)

    def excite(self, t_s: float, amount: float, tau_s: float) -> None:
        """Add ``amount`` times the normal pace, decaying with time scale ``tau_s``."""
        self._heat = self.heat(t_s) - 1.0 + amount
        self._heat_t = t_s
        self._heat_tau = tau_s

    def reserve(self, events: float) -> None:
        """Set aside ``events`` of the target for a flow the controller does not steer."""
        self.target = max(1, round(self.target - events))

    def control(self, t_s: float, produced: int) -> None:
        """Nudge the activity so that the normal events produced stay on course.

        It compares the last interval's output with what the profile expected, then sets the
        pace that closes the gap over the next twenty minutes, by small steps (a news burst
        is not corrected at once).
        """
        share = self.profile.share
        done_exp = self.target * (share(t_s) - share(self._last_t))
        done = produced - self._last_n
        t2 = min(self.session_s, t_s + _CONTROL_HORIZON_S)
        todo_exp = self.target * (share(t2) - share(t_s))
        if done_exp > 0 and todo_exp > 0 and done > 0:
            need = self.target * share(t2) - produced
            efficiency = done / done_exp
            factor = max(need, 0.0) / todo_exp / efficiency
            factor = min(max(factor, 0.7), 1.4) ** 0.5
            self.activity = min(max(self.activity * factor, 0.1), 10.0)
        self._last_t = t_s
        self._last_n = produced
