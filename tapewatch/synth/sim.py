"""One instrument's trading day: the event loop, the fair value, and order entry that records rows.

Every participant acts through :class:`Sim`: it enters orders into the book, writes one row per
order event (with the true top of book just before it) and schedules the next actions on a
time-ordered heap. Times are integer microseconds since the open.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush

from tapewatch.synth.book import BUY, LIMIT, MARKET, NO_PRICE, SELL, Fill, Order, OrderBook, Top
from tapewatch.synth.fair import PERMANENT_IMPACT, STEP, FairValue
from tapewatch.synth.pace import CONTROL_EVERY_S, Pace
from tapewatch.synth.recorder import CANCELLED, EXECUTED, MODIFIED, NEW, Recorder
from tapewatch.synth.rng import Rand
from tapewatch.synth.universe import Account, InstrumentSpec

US = 1_000_000
#: Realised volatility as a share of the instruments' nominal daily volatility.
_VOL_SCALE = 0.22


class Sim:
    """The per-instrument world every agent and episode acts through."""

    def __init__(
        self,
        spec: InstrumentSpec,
        rand: Rand,
        session_us: int,
        normal_target: int,
    ) -> None:
        """Set up an empty book at the open with the fair value at the instrument's level."""
        self.spec = spec
        self.rand = rand
        self.book = OrderBook()
        self.rec = Recorder()
        self.now = 0
        self.end = session_us
        self.session_s = session_us / US
        self.pace = Pace(self.session_s, normal_target, rand)
        self.vol_mult = 1.0
        self.position: dict[int, int] = {}
        self.watch: dict[int, Callable[[], object]] = {}
        #: Participants that look at the book again when a large order joins it.
        self.reactors: list[Callable[[], object]] = []
        self._big = 2 * spec.typical
        self.last_trade = spec.p0
        self._heap: list[tuple[int, int, Callable[[], object]]] = []
        self._seq = 0
        self._oid = 0
        #: Participants told (synchronously, cheaply) whenever the fair value moves.
        self.fair_listeners: list[Callable[[], object]] = []
        self._fair = FairValue(float(spec.p0))
        # The fair value moves in half-tick steps; the step rate gives the volatility.
        self._step_rate = _VOL_SCALE * (spec.sigma / STEP) ** 2
        self.after(CONTROL_EVERY_S, self._control)
        self.after(rand.exp() / self._step_rate, self._fair_step)

    # --------------------------------------------------------------- the loop
    def at(self, t: int, fn: Callable[[], object]) -> None:
        """Run ``fn`` at time ``t`` (dropped if at or after the close)."""
        if t < self.end:
            heappush(self._heap, (t, self._seq, fn))
            self._seq += 1

    def after(self, seconds: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` ``seconds`` from now."""
        t = self.now + int(seconds * US)
        if t < self.end:
            heappush(self._heap, (t, self._seq, fn))
            self._seq += 1

    def run(self) -> None:
        """Process scheduled actions in time order until the close."""
        heap = self._heap
        end = self.end
        while heap:
            t, _, fn = heappop(heap)
            if t >= end:
                break
            self.now = t
            fn()

    @property
    def normal_target(self) -> int:
        """Normal events the day aims at (what the volume controller steers to)."""
        return self.pace.target

    def reserve(self, events: float) -> None:
        """Set aside ``events`` of the normal target for a flow the controller does not steer."""
        self.pace.reserve(events)

    def rate_scale(self) -> float:
        """Multiplier of normal arrival rates now: intraday shape, news heat, volume control."""
        return self.pace.scale(self.now / US)

    def excite(self, amount: float, tau_s: float) -> None:
        """Raise activity by ``amount`` times, decaying with time scale ``tau_s``."""
        self.pace.excite(self.now / US, amount, tau_s)

    def _control(self) -> None:
        self.pace.control(self.now / US, self.rec.normal)
        self.after(CONTROL_EVERY_S, self._control)

    # ---------------------------------------------------------- market state
    def fair(self) -> float:
        """The instrument's fair value in ticks now."""
        return self._fair.at(self.now / US)

    def _fair_step(self) -> None:
        self._fair.step(self.rand.u() < 0.5)
        for listener in self.fair_listeners:
            listener()
        vm = self.vol_mult
        rate = self._step_rate * vm * vm * self.rate_scale()
        self.after(self.rand.exp() / rate, self._fair_step)

    def shift_fair(self, ticks: float, permanent: float = PERMANENT_IMPACT) -> None:
        """Move the fair value (a news jump when ``permanent`` is 1, else order-flow impact)."""
        self._fair.shift(self.now / US, ticks, permanent)
        for listener in self.fair_listeners:
            listener()

    def imbalance(self, levels: int = 3) -> float:
        """Depth imbalance of the best ``levels`` levels, in [-1, 1] (positive: more bids)."""
        b = self.book.depth(BUY, levels)
        a = self.book.depth(SELL, levels)
        return (b - a) / (a + b) if a + b else 0.0

    def mid(self) -> float:
        """Mid price in ticks (the fair value if a side is empty)."""
        b = self.book.best_bid()
        a = self.book.best_ask()
        if b == NO_PRICE or a == NO_PRICE:
            return self.fair()
        return 0.5 * (a + b)

    def size(self, mult: float, round_pref: float) -> int:
        """An order size of about ``mult`` typical sizes, rounded to lots as the account prefers."""
        raw = self.spec.typical * mult * math.exp(0.45 * self.rand.normal())
        if self.rand.u() < round_pref:
            return max(100, int(raw / 100.0 + 0.5) * 100)
        return max(1, int(raw))

    # ------------------------------------------------------------ order entry
    def _new_order(
        self, acct: Account, side: int, price: int, qty: int, otype: int, label: int, scen: int
    ) -> Order:
        if qty <= 0:
            raise ValueError(f"order size must be positive, got {qty}")
        self._oid += 1
        return Order(self._oid, acct.index, side, price, qty, acct.flags, otype, label, scen)

    def _prevent_self_trade(self, acct: Account, side: int, limit: int | None, qty: int) -> None:
        """Self-trade prevention: cancel the account's own resting orders the new one would hit."""
        for o in self.book.crossing(side, limit, qty):
            if o.trader == acct.index:
                self.cancel(o)

    def limit(
        self,
        acct: Account,
        side: int,
        price: int,
        qty: int,
        label: int = 0,
        scen: int = -1,
        *,
        notify: bool = True,
        stp: bool | None = None,
    ) -> Order:
        """Enter a limit order (it trades first if it crosses) and record its rows.

        A large resting order (``notify``) makes the fast participants look at the book again;
        ``stp`` (default: the account's habit) first cancels own orders it would trade with.
        """
        if price < 1:
            price = 1
        book = self.book
        if acct.stp if stp is None else stp:
            self._prevent_self_trade(acct, side, price, qty)
        o = self._new_order(acct, side, price, qty, LIMIT, label, scen)
        self.rec.row(self.now, o, NEW, price, qty, -1, book.top())
        fills = book.add(o)
        if fills:
            self._fills(o, fills)
        if (
            notify
            and o.resting
            and o.qty >= self._big
            and self.reactors
            and 2 * o.qty >= book.depth(side, 3) - o.qty
        ):
            for react in self.reactors:
                react()
        return o

    def ioc(
        self, acct: Account, side: int, price: int, qty: int, label: int = 0, scen: int = -1
    ) -> Order:
        """A limit order whose unfilled rest is cancelled at once (immediate-or-cancel)."""
        o = self.limit(acct, side, price, qty, label, scen)
        if o.resting:
            self.cancel(o)
        return o

    def market(
        self,
        acct: Account,
        side: int,
        qty: int,
        label: int = 0,
        scen: int = -1,
        *,
        stp: bool | None = None,
    ) -> Order:
        """Enter a market order; the part the book cannot fill is cancelled."""
        book = self.book
        if acct.stp if stp is None else stp:
            self._prevent_self_trade(acct, side, None, qty)
        o = self._new_order(acct, side, NO_PRICE, qty, MARKET, label, scen)
        self.rec.row(self.now, o, NEW, NO_PRICE, qty, -1, book.top())
        fills = book.market(o)
        if fills:
            self._fills(o, fills)
        if o.qty > 0:
            price = fills[-1].price if fills else self.last_trade
            self.rec.row(self.now, o, CANCELLED, price, o.qty, -1, book.top())
            o.qty = 0
        return o

    def cancel(self, o: Order, qty: int = 0) -> int:
        """Cancel ``qty`` (all if 0) of a resting order; returns the size cancelled."""
        if not o.resting:
            return 0
        top = self.book.top()
        done = self.book.cancel(o, qty if qty > 0 else o.qty)
        if done:
            self.rec.row(self.now, o, CANCELLED, o.price, done, -1, top)
        return done

    def modify(self, o: Order, price: int, qty: int) -> bool:
        """Reset a resting order's price and open size; False (and no row) if it would cross."""
        if qty <= 0 or not self.book.can_modify(o, price):
            return False
        if price == o.price and qty == o.qty:
            return False
        top = self.book.top()
        self.book.modify(o, price, qty)
        self.rec.row(self.now, o, MODIFIED, price, qty, -1, top)
        return True

    def _fills(self, aggressor: Order, fills: list[Fill]) -> None:
        now = self.now
        row = self.rec.row
        pos = self.position
        watch = self.watch
        signed = 0
        for f in fills:
            p = f.passive
            row(now, aggressor, EXECUTED, f.price, f.qty, p.trader, f.top)
            row(now, p, EXECUTED, f.price, f.qty, aggressor.trader, f.top)
            q = f.qty if aggressor.side == BUY else -f.qty
            signed += q
            pos[aggressor.trader] = pos.get(aggressor.trader, 0) + q
            pos[p.trader] = pos.get(p.trader, 0) - q
            if watch:
                hook = watch.get(p.oid)
                if hook is not None:
                    hook()
        self.last_trade = fills[-1].price
        if watch:
            hook = watch.get(aggressor.oid)
            if hook is not None:
                hook()
        typical = self.spec.typical
        mag = math.sqrt(abs(signed) / typical)
        self.shift_fair(self.spec.impact * (mag if signed > 0 else -mag))

    # ---------------------------------------------------------------- helpers
    def touch(self, side: int) -> int:
        """Best price on ``side`` (NO_PRICE if empty)."""
        return self.book.best_bid() if side == BUY else self.book.best_ask()

    def passive_price(self, side: int, offset: int) -> int:
        """A non-crossing price ``offset`` ticks behind this side's touch (negative: inside)."""
        book = self.book
        bid = book.best_bid()
        ask = book.best_ask()
        if side == BUY:
            ref = bid if bid != NO_PRICE else (ask - 1 if ask != NO_PRICE else int(self.fair()) - 1)
            price = ref - offset
            if ask != NO_PRICE and price >= ask:
                price = ask - 1
        else:
            ref = ask if ask != NO_PRICE else (bid + 1 if bid != NO_PRICE else int(self.fair()) + 1)
            price = ref + offset
            if bid != NO_PRICE and price <= bid:
                price = bid + 1
        return max(1, price)

    def through_price(self, side: int, ticks: int) -> int:
        """A marketable price ``ticks`` beyond the other side's touch."""
        if side == BUY:
            a = self.book.best_ask()
            ref = a if a != NO_PRICE else int(self.fair()) + 1
            return ref + ticks
        b = self.book.best_bid()
        ref = b if b != NO_PRICE else int(self.fair()) - 1
        return max(1, ref - ticks)

    def top(self) -> Top:
        """Top of book now."""
        return self.book.top()
