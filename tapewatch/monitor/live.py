"""Live figures of a streaming worker: counters, lag and latency percentiles.

The same numbers go to a Rich status line and, when asked for, to `/metrics` in
Prometheus' text format (prometheus_client). Latency is kept as a histogram with
log-spaced bins, so memory stays fixed however long the worker runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

I64 = npt.NDArray[np.int64]
#: latency bins: 1 µs to 100 s, 50 per decade (percentiles good to about 5 %)
_EDGES_NS = np.logspace(3, 11, 8 * 50 + 1)
_PROM_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0, 5.0)


class StreamMetrics:
    """What a worker has done so far, and how fast."""

    def __init__(self) -> None:
        self.events = 0
        self.dead_letters = 0
        self.alerts = 0
        self.flagged = 0
        self.batches = 0
        self.lag = 0
        self.started = time.monotonic()
        self._counts = np.zeros(len(_EDGES_NS) + 1, dtype=np.int64)
        self._latency_sum_ns = 0
        self._window: list[tuple[float, int]] = [(self.started, 0)]

    def record_batch(
        self, latencies_ns: I64, events: int, dead_letters: int, alerts: int, flagged: int = 0
    ) -> None:
        """One processed batch: each row's latency, the events it scored, the rows it set
        aside as dead letters, the alerts it persisted and the events it flagged."""
        # the latencies before the counters: `/metrics` is scraped from another thread,
        # and a scrape between the two saw more events than latencies
        if len(latencies_ns):
            bins = np.searchsorted(_EDGES_NS, latencies_ns)
            self._counts += np.bincount(bins, minlength=len(self._counts))
            self._latency_sum_ns += int(latencies_ns.sum())
        self.batches += 1
        self.flagged += flagged
        self.events += events
        self.dead_letters += dead_letters
        self.alerts += alerts

    def set_lag(self, lag: int) -> None:
        """Events known to wait in the source."""
        self.lag = lag

    def percentile_ms(self, q: float) -> float:
        """Latency percentile (q in [0, 100]) in milliseconds, to the upper edge of its
        bin; NaN before any event."""
        total = int(self._counts.sum())
        if total == 0:
            return float("nan")
        rank = int(np.searchsorted(np.cumsum(self._counts), q / 100 * total))
        return float(_EDGES_NS[min(rank, len(_EDGES_NS) - 1)]) / 1e6

    def rate(self) -> float:
        """Events per second over about the last five seconds."""
        now = time.monotonic()
        self._window.append((now, self.events))
        while len(self._window) > 2 and now - self._window[0][0] > 5.0:
            self._window.pop(0)
        t0, n0 = self._window[0]
        return (self.events - n0) / max(now - t0, 1e-9)

    def status(self) -> str:
        """One line for people."""
        return (
            f"{self.events:,} events  {self.rate():,.0f}/s  lag {self.lag:,}  "
            f"alerts {self.alerts:,}  dead letters {self.dead_letters:,}  latency "
            f"p50 {self.percentile_ms(50):.2f} ms  p99 {self.percentile_ms(99):.2f} ms  "
            f"p99.9 {self.percentile_ms(99.9):.2f} ms"
        )

    def latency_buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts at the Prometheus bucket edges (seconds), ending with +Inf."""
        cumulative = np.cumsum(self._counts)
        out = []
        for edge in _PROM_BUCKETS:
            # events in bins whose upper edge is at or below this bucket's edge
            below = int(np.searchsorted(_EDGES_NS, edge * 1e9, side="right"))
            out.append((str(edge), float(cumulative[below - 1]) if below else 0.0))
        out.append(("+Inf", float(cumulative[-1])))
        return out

    def registry(self) -> CollectorRegistry:
        """A Prometheus registry holding these figures (and nothing global)."""
        registry = CollectorRegistry()
        registry.register(_Collector(self))
        return registry

    def serve(self, port: int) -> None:
        """Expose the figures on http://0.0.0.0:port/metrics."""
        start_http_server(port, registry=self.registry())


class _Collector(Collector):
    def __init__(self, metrics: StreamMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        m = self.metrics
        yield CounterMetricFamily("tapewatch_events", "Events scored", value=m.events)
        yield CounterMetricFamily(
            "tapewatch_dead_letters", "Rows set aside as dead letters", value=m.dead_letters
        )
        yield CounterMetricFamily("tapewatch_alerts", "Alerts persisted", value=m.alerts)
        yield CounterMetricFamily("tapewatch_flagged", "Events flagged", value=m.flagged)
        yield GaugeMetricFamily(
            "tapewatch_flag_rate",
            "Share of scored events flagged",
            value=m.flagged / max(m.events, 1),
        )
        yield GaugeMetricFamily("tapewatch_lag_events", "Events waiting in the source", value=m.lag)
        yield HistogramMetricFamily(
            "tapewatch_latency_seconds",
            "From an event entering the source to its score and alerts being persisted",
            buckets=m.latency_buckets(),
            sum_value=m._latency_sum_ns / 1e9,
        )
