"""What every abuse episode shares: its plan, the labelled order entry, and the script runner.

An episode's behaviour is a generator (its *script*) that places and cancels orders through an
:class:`EpisodeContext` and yields how many seconds to wait. A fill on one of the orders it
watches wakes it early, after the account's reaction time. Every order it places carries the
episode's typology and scenario index, so all of its rows (NEW, MODIFIED, CANCELLED and its own
EXECUTED rows) are labelled; the innocent side of a fill keeps its own (normal) label.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Protocol

from tapewatch.schema.enums import TYPOLOGIES, ManipulationType
from tapewatch.synth.book import Order
from tapewatch.synth.sim import Sim
from tapewatch.synth.universe import Account, Role

#: A script yields the number of seconds to sleep; it is resumed early by watched fills.
Script = Generator[float, None, None]


class EpisodeParams(Protocol):
    """The drawn parameters of one episode, which also know how to play it."""

    def estimate(self) -> float:
        """Expected number of labelled events."""
        ...

    def accounts_needed(self) -> int:
        """How many colluding accounts the episode needs."""
        ...

    def window(self, session_s: float) -> tuple[float, float]:
        """Earliest and latest start, in seconds after the open."""
        ...

    def script(self, ctx: EpisodeContext) -> Script:
        """The episode's behaviour."""
        ...


@dataclass(frozen=True, slots=True)
class Episode:
    """One planned episode: which typology, where, when, by whom, with which parameters."""

    scen: int
    typology: ManipulationType
    instrument: int
    start_us: int
    accounts: tuple[int, ...]
    params: EpisodeParams


#: How often each typology recruits from each role (abusers also trade normally in that role).
RECRUITS: Mapping[ManipulationType, Mapping[Role, float]] = MappingProxyType(
    {
        ManipulationType.SPOOFING: {
            Role.HFT: 0.4,
            Role.MAKER: 0.3,
            Role.MOMENTUM: 0.2,
            Role.NOISE: 0.1,
        },
        ManipulationType.LAYERING: {
            Role.HFT: 0.4,
            Role.MAKER: 0.3,
            Role.MOMENTUM: 0.2,
            Role.NOISE: 0.1,
        },
        ManipulationType.WASH_TRADING: {
            Role.MAKER: 0.3,
            Role.HFT: 0.25,
            Role.MOMENTUM: 0.2,
            Role.NOISE: 0.1,
            Role.INSTITUTION: 0.15,
        },
        ManipulationType.PUMP_AND_DUMP: {Role.MAKER: 0.3, Role.MOMENTUM: 0.45, Role.NOISE: 0.25},
        ManipulationType.QUOTE_STUFFING: {Role.HFT: 0.6, Role.MAKER: 0.4},
        ManipulationType.MARKING_THE_CLOSE: {
            Role.INSTITUTION: 0.35,
            Role.MOMENTUM: 0.25,
            Role.HFT: 0.2,
            Role.MAKER: 0.1,
            Role.NOISE: 0.1,
        },
    }
)


class EpisodeContext:
    """Order entry for one episode's accounts, every order labelled with the episode."""

    def __init__(self, sim: Sim, accounts: Sequence[Account], episode: Episode) -> None:
        """Bind the episode's accounts and labels to the instrument's world."""
        self.sim = sim
        self.accounts = tuple(accounts)
        self.label = TYPOLOGIES.index(episode.typology)
        self.scen = episode.scen
        # Colluders crossing their own orders on purpose switch self-trade prevention off.
        self.stp: bool | None = False if episode.typology is ManipulationType.WASH_TRADING else None
        self.runner: Runner | None = None

    @property
    def now(self) -> int:
        """Current time in microseconds since the open."""
        return self.sim.now

    def size(self, mult: float, who: int = 0) -> int:
        """An order size of about ``mult`` typical sizes, in account ``who``'s lot habits."""
        return self.sim.size(mult, self.accounts[who].round_pref)

    def limit(self, side: int, price: int, qty: int, who: int = 0) -> Order:
        """A labelled limit order from account ``who``."""
        a = self.accounts[who]
        return self.sim.limit(a, side, price, qty, self.label, self.scen, stp=self.stp)

    def market(self, side: int, qty: int, who: int = 0) -> Order:
        """A labelled market order from account ``who``."""
        a = self.accounts[who]
        return self.sim.market(a, side, qty, self.label, self.scen, stp=self.stp)

    def watch(self, o: Order) -> None:
        """Wake the script when ``o`` trades."""
        if self.runner is not None and (o.resting or o.qty > 0):
            self.sim.watch[o.oid] = self.runner.poke

    def unwatch(self, *orders: Order) -> None:
        """Stop watching orders."""
        for o in orders:
            self.sim.watch.pop(o.oid, None)

    def beat(self) -> float:
        """The short pause between two messages an account sends one after the other (s)."""
        return self.sim.rand.loguniform(0.00002, 0.02)

    def reaction(self, who: int = 0) -> float:
        """A reaction time of account ``who``, in seconds."""
        return self.sim.rand.lognormal(self.accounts[who].latency_s, 0.5)


class Runner:
    """Drives a script on the instrument's clock; watched fills wake it after a reaction time."""

    __slots__ = ("_busy", "_ctx", "_done", "_script", "_token")

    def __init__(self, ctx: EpisodeContext, script: Script) -> None:
        """Attach ``script`` to its context."""
        self._ctx = ctx
        self._script = script
        self._token = 0
        self._busy = False
        self._done = False
        ctx.runner = self

    def start(self, t_us: int) -> None:
        """Run the script's first step at ``t_us``."""
        self._ctx.sim.at(t_us, partial(self._step, self._token))

    def _step(self, token: int) -> None:
        if token != self._token or self._done:
            return
        self._busy = True
        try:
            wait = next(self._script)
        except StopIteration:
            self._done = True
            return
        self._token += 1
        self._busy = False
        self._ctx.sim.after(max(wait, 0.0), partial(self._step, self._token))

    def poke(self) -> None:
        """A watched order traded: resume the script after the account's reaction time."""
        if self._busy or self._done:
            return
        self._busy = True
        self._token += 1
        self._ctx.sim.after(self._ctx.reaction(), partial(self._step, self._token))
