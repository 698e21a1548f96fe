"""The stateful feature engine: one implementation for training, batch and streaming."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.features.catalog import FEATURE_NAMES, N_FEATURES, TRADER_FEATURES
from tapewatch.features.config import FeatureConfig
from tapewatch.features.encode import EventArrays, encode_events, stable_hashes
from tapewatch.features.kernel import (
    INSTRUMENT_IDLE_SECONDS,
    closed_order_seconds,
    compute_features,
)
from tapewatch.features.keys import KeyIndex
from tapewatch.features.sequences import SequenceModel, SequenceOutput
from tapewatch.features.state import (
    I_LAST_T,
    O_INST,
    O_LAST_T,
    O_OPEN,
    P_INST,
    P_LAST_T,
    T_INST,
    T_LAST_T,
    FeatureState,
)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FeatureBatch:
    """Features of a batch (n x F) and, when the engine runs a sequence model, its output."""

    features: F32
    sequence: SequenceOutput | None


@dataclass
class FeatureEngine:
    """Feeds events in time order and returns one feature row per event.

    Give it a whole day at once or one micro-batch after another: the numbers are the
    same. State is keyed within one instrument, so engines over disjoint sets of
    instruments together give exactly the single-engine result.
    """

    config: FeatureConfig = field(default_factory=FeatureConfig)
    state: FeatureState = field(default_factory=FeatureState)
    instruments: KeyIndex = field(default_factory=KeyIndex)
    traders: KeyIndex = field(default_factory=KeyIndex)
    orders: KeyIndex = field(default_factory=KeyIndex)
    pairs: KeyIndex = field(default_factory=KeyIndex)

    #: a model with state per trader-and-instrument key (the autoencoder), advanced here
    #: so it shares the engine's key slots and eviction
    sequences: SequenceModel | None = None
    #: events since idle keys were last looked for
    _since_eviction: int = field(default=0, init=False, repr=False)
    #: `stable_hashes` of the config's anonymous trader ids
    _anonymous_hashes: I64 = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = pa.array(self.config.anonymous_trader_ids, pa.string())
        self._anonymous_hashes = stable_hashes(ids)

    def transform(self, events: pa.Table) -> F32:
        """Advance the state over these events and return their features (n x F, float32)."""
        return self.transform_batch(events).features

    def transform_batch(self, events: pa.Table) -> FeatureBatch:
        """Advance the state; features of these events and, with `sequences`, its output."""
        out = np.empty((events.num_rows, N_FEATURES), dtype=np.float32)
        if events.num_rows == 0:
            return FeatureBatch(out, self._advance(np.empty(0, np.int64), np.empty(0), out))
        arrays = encode_events(events, self.config.timezone)
        inst = self.instruments.lookup(arrays.instrument_keys)
        trader = self.traders.lookup(arrays.trader_keys)
        order = self.orders.lookup(arrays.order_keys)
        pair = self.pairs.lookup(arrays.pair_keys)
        st = self.state
        st.ensure(
            self.instruments.capacity,
            self.traders.capacity,
            self.orders.capacity,
            self.pairs.capacity,
        )
        cfg = self.config
        compute_features(
            arrays.ts, arrays.local_ts, arrays.status, arrays.side, arrays.price, arrays.qty,
            arrays.bid, arrays.ask, arrays.bid_size, arrays.ask_size,
            inst, trader, order, pair, arrays.trader_hash, arrays.counterparty_hash,
            st.instruments, st.trade_seller, st.trade_buyer, st.trade_time,
            st.traders, st.trader_cps, st.level_price, st.level_count, st.orders, st.pairs,
            cfg.open_seconds, cfg.close_seconds,
            cfg.evict_idle_seconds, cfg.evict_order_idle_seconds,
            out,
        )  # fmt: skip
        mask_anonymous(arrays, out, self._anonymous_hashes)
        sequence = self._advance(trader, arrays.ts, out)
        self._since_eviction += events.num_rows
        # a look for idle keys costs O(live keys): taken once the events since the last one
        # reach a quarter of them, it costs O(1) an event and the key tables stay within
        # 1.25 times the live keys, however small the batches
        if 4 * self._since_eviction >= sum(self.n_keys.values()):
            self.evict_idle()
            self._since_eviction = 0
        return FeatureBatch(out, sequence)

    def _advance(self, trader_slots: I64, ts: F64, features: F32) -> SequenceOutput | None:
        if self.sequences is None:
            return None
        return self.sequences.advance(trader_slots, ts, features, self.config.evict_idle_seconds)

    def evict_idle(self) -> None:
        """Free the slots of keys idle past their horizon in their own instrument's time.

        A key idle that long would start afresh on its next event anyway, so freeing it
        never changes a feature: it only bounds memory. An order no longer resting has the
        short horizon the kernel gives it.
        """
        st = self.state
        inst_now = st.instruments[:, I_LAST_T]
        cfg = self.config
        closed_order = closed_order_seconds(cfg.evict_order_idle_seconds)
        # per kind: slots, state rows, last-event and instrument columns, horizon, the
        # column that says a key is still resting (else the closed-order horizon), reset
        for index, rows, last_col, inst_col, horizon, resting_col, reset in (
            (
                self.traders,
                st.traders,
                T_LAST_T,
                T_INST,
                cfg.evict_idle_seconds,
                None,
                self._reset_traders,
            ),
            (
                self.orders,
                st.orders,
                O_LAST_T,
                O_INST,
                cfg.evict_order_idle_seconds,
                O_OPEN,
                st.reset_orders,
            ),
            (self.pairs, st.pairs, P_LAST_T, P_INST, cfg.evict_idle_seconds, None, st.reset_pairs),
        ):
            live = index.live_slots()
            if len(live) == 0:
                continue
            last = rows[live, last_col]
            now = inst_now[rows[live, inst_col].astype(np.int64)]
            limit = (
                horizon
                if resting_col is None
                else np.where(rows[live, resting_col] > 0.0, horizon, closed_order)
            )
            idle = live[now - last > limit]
            if len(idle):
                index.release(idle)
                reset(idle)
        live = self.instruments.live_slots()
        if len(live):
            newest = np.nanmax(inst_now[live])
            idle = live[newest - inst_now[live] > INSTRUMENT_IDLE_SECONDS]
            if len(idle):
                self.instruments.release(idle)
                st.reset_instruments(idle)

    def _reset_traders(self, slots: npt.NDArray[np.int64]) -> None:
        self.state.reset_traders(slots)
        if self.sequences is not None:
            self.sequences.reset(slots)

    @property
    def n_keys(self) -> dict[str, int]:
        """Live keys per kind."""
        return {
            "instruments": len(self.instruments),
            "traders": len(self.traders),
            "orders": len(self.orders),
            "pairs": len(self.pairs),
        }


TRADER_COLUMNS = np.array([FEATURE_NAMES.index(n) for n in sorted(TRADER_FEATURES)])


def mask_anonymous(arrays: EventArrays, features: F32, anonymous: I64) -> None:
    """Blank the trader features of rows whose trader or counterparty is an unknown id
    (`anonymous`: those ids' `stable_hashes`)."""
    if not len(anonymous):
        return
    rows = np.zeros(len(arrays), dtype=bool)
    for unknown in anonymous.tolist():  # one or two ids: cheaper than np.isin
        rows |= (arrays.trader_hash == unknown) | (arrays.counterparty_hash == unknown)
    hit = np.flatnonzero(rows)
    if len(hit):
        features[np.ix_(hit, TRADER_COLUMNS)] = np.nan


def compute_features_table(
    events: pa.Table,
    config: FeatureConfig | None = None,
    *,
    batch_rows: int = 200_000,
    on_progress: Callable[[int], None] | None = None,
) -> F32:
    """Features of a whole events table with a fresh engine, batch by batch as scoring does."""
    engine = FeatureEngine(config or FeatureConfig())
    parts = []
    for _, batch in iter_feature_batches(engine, events, batch_rows):
        parts.append(batch.features)
        if on_progress is not None:
            on_progress(len(batch.features))
    return np.vstack(parts) if parts else np.empty((0, N_FEATURES), np.float32)


def trader_slots(events: pa.Table, timezone: str) -> tuple[I64, F64]:
    """Each row's trader-and-instrument key as the engine numbers them (-1 without a
    trader), and its time in seconds: what a sequence model is advanced with."""
    arrays = encode_events(events, timezone)
    return KeyIndex().lookup(arrays.trader_keys), arrays.ts


def iter_feature_batches(
    engine: FeatureEngine, events: pa.Table, batch_rows: int
) -> Iterator[tuple[int, FeatureBatch]]:
    """(first row, feature batch) of consecutive slices of the table, in order."""
    for start in range(0, events.num_rows, batch_rows):
        yield start, engine.transform_batch(events.slice(start, batch_rows))
