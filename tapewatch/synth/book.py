"""A limit order book with price-time priority matching on integer tick prices.

Each side keeps its price levels in a sorted list (best level last, so the hot path pops
from the end) and one FIFO deque of orders per level. The book never rests a crossing
order: an incoming order first trades against the other side, and a modify that would
cross is refused.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass

BUY = 0
SELL = 1
LIMIT = 0
MARKET = 1
NO_PRICE = -1

#: ``(bid, bid_size, ask, ask_size)`` with ``NO_PRICE`` and size 0 for an empty side.
Top = tuple[int, int, int, int]


@dataclass(slots=True, eq=False)
class Order:
    """One order: who, which side, limit price in ticks, open size, and the row attributes."""

    oid: int
    trader: int
    side: int
    price: int
    qty: int
    flags: int = 0
    otype: int = LIMIT
    label: int = 0
    scen: int = -1
    filled: int = 0
    resting: bool = False


@dataclass(slots=True, frozen=True)
class Fill:
    """One match: the incoming and resting orders, fill price/size and the top just before."""

    aggressor: Order
    passive: Order
    price: int
    qty: int
    top: Top


class OrderBook:
    """Price-time priority limit order book for one instrument."""

    __slots__ = ("_ask_keys", "_ask_lv", "_ask_sz", "_bid_keys", "_bid_lv", "_bid_sz")

    def __init__(self) -> None:
        """Create an empty book."""
        # Bids are keyed by price, asks by -price: in both lists the best level is last.
        self._bid_keys: list[int] = []
        self._ask_keys: list[int] = []
        self._bid_lv: dict[int, deque[Order]] = {}
        self._ask_lv: dict[int, deque[Order]] = {}
        self._bid_sz: dict[int, int] = {}
        self._ask_sz: dict[int, int] = {}

    # ----------------------------------------------------------------- queries
    def best_bid(self) -> int:
        """Best bid price in ticks, or NO_PRICE."""
        keys = self._bid_keys
        return keys[-1] if keys else NO_PRICE

    def best_ask(self) -> int:
        """Best ask price in ticks, or NO_PRICE."""
        keys = self._ask_keys
        return -keys[-1] if keys else NO_PRICE

    def top(self) -> Top:
        """Best bid, its size, best ask, its size."""
        bk = self._bid_keys
        ak = self._ask_keys
        if bk:
            b = bk[-1]
            bs = self._bid_sz[b]
        else:
            b, bs = NO_PRICE, 0
        if ak:
            a = -ak[-1]
            asz = self._ask_sz[a]
        else:
            a, asz = NO_PRICE, 0
        return (b, bs, a, asz)

    def depth(self, side: int, levels: int) -> int:
        """Total open size in the best ``levels`` price levels of one side."""
        if side == BUY:
            keys = self._bid_keys
            sz = self._bid_sz
            return sum(sz[k] for k in keys[-levels:])
        keys = self._ask_keys
        sz = self._ask_sz
        return sum(sz[-k] for k in keys[-levels:])

    def level_size(self, side: int, price: int) -> int:
        """Open size at one price level of one side (0 if the level is empty)."""
        return (self._bid_sz if side == BUY else self._ask_sz).get(price, 0)

    def levels(self, side: int) -> list[tuple[int, int]]:
        """All levels of one side as ``(price, size)``, best first."""
        if side == BUY:
            return [(k, self._bid_sz[k]) for k in reversed(self._bid_keys)]
        return [(-k, self._ask_sz[-k]) for k in reversed(self._ask_keys)]

    def queue(self, side: int, price: int) -> list[Order]:
        """The orders resting at one price level, in time priority."""
        lv = (self._bid_lv if side == BUY else self._ask_lv).get(price)
        return list(lv) if lv is not None else []

    def crossing(self, side: int, limit: int | None, qty: int) -> list[Order]:
        """The resting orders an incoming ``side`` order of ``qty`` up to ``limit`` could reach."""
        if side == BUY:
            keys, lvs, sign = self._ask_keys, self._ask_lv, -1
        else:
            keys, lvs, sign = self._bid_keys, self._bid_lv, 1
        out: list[Order] = []
        for key in reversed(keys):
            px = sign * key
            if limit is not None and (px > limit if side == BUY else px < limit):
                break
            for o in lvs[px]:
                out.append(o)
                qty -= o.qty
            if qty <= 0:
                break
        return out

    # ----------------------------------------------------------------- actions
    def add(self, order: Order) -> list[Fill]:
        """Match a limit order against the other side, then rest what is left."""
        fills = self._match(order, order.price)
        if order.qty > 0:
            self._rest(order)
        return fills

    def market(self, order: Order) -> list[Fill]:
        """Match a market order against the other side; the caller cancels what is left."""
        return self._match(order, None)

    def cancel(self, order: Order, qty: int) -> int:
        """Cancel up to ``qty`` of a resting order's open size; returns the size cancelled."""
        if not order.resting or qty <= 0:
            return 0
        qty = min(qty, order.qty)
        if qty == order.qty:
            self._unrest(order)
            order.qty = 0
        else:
            order.qty -= qty
            sz = self._bid_sz if order.side == BUY else self._ask_sz
            sz[order.price] -= qty
        return qty

    def can_modify(self, order: Order, price: int) -> bool:
        """Whether ``order`` may move to ``price`` without crossing the other side."""
        if not order.resting or price <= 0:
            return False
        if order.side == BUY:
            keys = self._ask_keys
            return not keys or price < -keys[-1]
        keys = self._bid_keys
        return not keys or price > keys[-1]

    def modify(self, order: Order, price: int, qty: int) -> bool:
        """Reset a resting order's price and open size; refused (False) if it would cross.

        A size decrease at the same price keeps time priority; a price change or a size
        increase sends the order to the back of its (new) level.
        """
        if qty <= 0 or not self.can_modify(order, price):
            return False
        if price == order.price and qty <= order.qty:
            sz = self._bid_sz if order.side == BUY else self._ask_sz
            sz[price] += qty - order.qty
            order.qty = qty
            return True
        self._unrest(order)
        order.price = price
        order.qty = qty
        self._rest(order)
        return True

    # ---------------------------------------------------------------- internals
    def _match(self, order: Order, limit: int | None) -> list[Fill]:
        fills: list[Fill] = []
        if order.side == BUY:
            keys, lvs, szs = self._ask_keys, self._ask_lv, self._ask_sz
            other_keys, other_sz = self._bid_keys, self._bid_sz
            sign = -1
        else:
            keys, lvs, szs = self._bid_keys, self._bid_lv, self._bid_sz
            other_keys, other_sz = self._ask_keys, self._ask_sz
            sign = 1
        # The incoming order's own side does not change while it sweeps the other side.
        if other_keys:
            op = sign * -other_keys[-1]
            os_ = other_sz[op]
        else:
            op, os_ = NO_PRICE, 0
        while order.qty > 0 and keys:
            px = sign * keys[-1]
            if limit is not None and (px > limit if sign < 0 else px < limit):
                break
            level = lvs[px]
            while order.qty > 0 and level:
                rest = level[0]
                size = szs[px]
                top = (op, os_, px, size) if sign < 0 else (px, size, op, os_)
                q = order.qty if order.qty < rest.qty else rest.qty
                fills.append(Fill(order, rest, px, q, top))
                order.qty -= q
                order.filled += q
                rest.qty -= q
                rest.filled += q
                szs[px] = size - q
                if rest.qty == 0:
                    level.popleft()
                    rest.resting = False
            if not level:
                keys.pop()
                del lvs[px]
                del szs[px]
        return fills

    def _rest(self, order: Order) -> None:
        px = order.price
        if order.side == BUY:
            lv = self._bid_lv.get(px)
            if lv is None:
                insort(self._bid_keys, px)
                self._bid_lv[px] = deque((order,))
                self._bid_sz[px] = order.qty
            else:
                lv.append(order)
                self._bid_sz[px] += order.qty
        else:
            lv = self._ask_lv.get(px)
            if lv is None:
                insort(self._ask_keys, -px)
                self._ask_lv[px] = deque((order,))
                self._ask_sz[px] = order.qty
            else:
                lv.append(order)
                self._ask_sz[px] += order.qty
        order.resting = True

    def _unrest(self, order: Order) -> None:
        px = order.price
        if order.side == BUY:
            lvs, szs, keys, key = self._bid_lv, self._bid_sz, self._bid_keys, px
        else:
            lvs, szs, keys, key = self._ask_lv, self._ask_sz, self._ask_keys, -px
        lv = lvs[px]
        if lv[0] is order:
            lv.popleft()
        else:
            lv.remove(order)
        if lv:
            szs[px] -= order.qty
        else:
            del lvs[px]
            del szs[px]
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]
        order.resting = False
