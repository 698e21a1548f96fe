"""Momentum traders: take liquidity in the direction of the recent move of the mid price."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

from tapewatch.synth.book import BUY, SELL
from tapewatch.synth.sim import US, Sim
from tapewatch.synth.universe import Account


class MomentumFlow:
    """Accounts that compare a fast and a slow average of the mid and chase the difference."""

    def __init__(self, sim: Sim, accounts: Sequence[Account], rate: float) -> None:
        """Draw the look-back windows and each account's trigger; ``rate`` is looks per second."""
        r = sim.rand
        self.sim = sim
        self.accounts = tuple(accounts)
        self.rate = rate
        self.fast_tau = r.uniform(8.0, 40.0)
        self.slow_tau = r.uniform(120.0, 600.0)
        self.trigger = [r.uniform(0.4, 1.5) for _ in self.accounts]
        self.p_market = r.uniform(0.2, 0.5)
        self.fast = float(sim.spec.p0)
        self.slow = float(sim.spec.p0)
        self.t = 0

    def start(self) -> None:
        """Schedule the first look."""
        self.sim.after(self.sim.rand.exp() / self.rate, self.wake)

    def wake(self) -> None:
        """Update the averages; one account may trade with the move."""
        sim = self.sim
        r = sim.rand
        sim.after(r.exp() / (self.rate * sim.rate_scale()), self.wake)
        mid = sim.mid()
        dt = (sim.now - self.t) / US
        self.t = sim.now
        self.fast += (mid - self.fast) * (1.0 - math.exp(-dt / self.fast_tau))
        self.slow += (mid - self.slow) * (1.0 - math.exp(-dt / self.slow_tau))
        signal = (self.fast - self.slow) / (2.0 * sim.spec.half_spread)
        i = r.randint(0, len(self.accounts) - 1)
        acct = self.accounts[i]
        side = BUY if signal > 0 else SELL
        if abs(signal) > self.trigger[i] and r.u() < 0.6:
            qty = sim.size(r.loguniform(0.5, 3.0), acct.round_pref)
            if r.u() < self.p_market:
                sim.market(acct, side, qty)
            else:
                o = sim.limit(acct, side, sim.through_price(side, r.randint(0, 2)), qty)
                if o.resting:
                    sim.after(r.loguniform(0.5, 30.0), partial(sim.cancel, o))
        elif r.u() < 0.15:
            qty = sim.size(r.loguniform(0.5, 2.0), acct.round_pref)
            o = sim.limit(acct, side, sim.passive_price(side, r.randint(0, 1)), qty)
            if o.resting:
                sim.after(r.loguniform(2.0, 120.0), partial(sim.cancel, o))
