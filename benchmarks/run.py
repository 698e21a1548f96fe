"""Speed and memory benchmarks of the batch path (make bench).

Measures, on this machine: market generation speed, feature-engine speed, and
features + XGBoost scoring throughput on one core for 1,000,000 events, with peak RSS.
Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import pyarrow as pa
from demo_model import QUIET_MIX, supervised_only, train_like_demo
from report import peak_rss_mb, print_table

from tapewatch.detect.scoring import EXPLANATION_METHODS
from tapewatch.engine.pipeline import Provenance, ScoringPipeline
from tapewatch.features.config import FeatureConfig
from tapewatch.features.engine import FeatureEngine
from tapewatch.learn.registry import ModelBundle
from tapewatch.synth import MarketConfig, generate_market


def measure_scoring(label: str, day: pa.Table, model: ModelBundle) -> list[tuple[str, str]]:
    """Throughput of the scoring pipeline and of both explanation methods on one day."""
    pipeline = ScoringPipeline(model, Provenance(model.version, model.config_hash, "bench"))
    closed = []
    t = time.perf_counter()
    for start in range(0, day.num_rows, 100_000):
        closed += pipeline.process(day.slice(start, 100_000)).closed_alerts
    closed += pipeline.finish()
    score_s = time.perf_counter() - t
    explain_s = {}
    for method in EXPLANATION_METHODS:
        pipeline.model = replace(model, scoring=replace(model.scoring, explanation=method))
        t = time.perf_counter()
        alerts = pipeline.alert_table(closed)
        explain_s[method] = time.perf_counter() - t
    trees = model.detector.n_trees
    ae = (
        f"recurrent LSTM autoencoder (ONNX Runtime, state {model.anomaly.config.hidden} "
        "per key, one step per event) + "
        if model.anomaly is not None
        else ""
    )
    rows = [
        (
            f"{label}: features + XGBoost screen ({trees['screen']} trees, cascade after "
            f"{model.scoring.cascade_trees}) + {ae}typology ({trees['typology']} rounds, "
            "flagged events only) + rules + alert grouping, one core",
            f"**{day.num_rows / score_s:,.0f} events/s** ({score_s:.1f} s for {day.num_rows:,})",
        )
    ]
    for method, seconds in explain_s.items():
        rows.append(
            (
                f"{label}: explanations ({method}) + text for {alerts.num_rows:,} alerts "
                f"({alerts.num_rows / day.num_rows * 1e4:.0f} per 10k events)",
                f"{seconds:.1f} s ({seconds / max(alerts.num_rows, 1) * 1e3:.2f} ms per alert); "
                f"whole batch path {day.num_rows / (score_s + seconds):,.0f} events/s",
            )
        )
    return rows


def main() -> None:
    """Run the benchmarks and print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--train-events", type=int, default=1_000_000)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []

    t = time.perf_counter()
    day = generate_market(MarketConfig(n_events=args.events, seed=11))
    gen_s = time.perf_counter() - t
    rows.append(
        (
            f"generate {day.num_rows:,} events",
            f"{gen_s:.1f} s ({day.num_rows / gen_s:,.0f} events/s)",
        )
    )

    model = train_like_demo(args.train_events, seed=12, n_threads=1)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    engine = FeatureEngine(FeatureConfig())
    engine.transform(day.slice(0, 1000))  # compile outside the timing
    engine = FeatureEngine(FeatureConfig())
    t = time.perf_counter()
    for start in range(0, day.num_rows, 100_000):
        engine.transform(day.slice(start, 100_000))
    feat_s = time.perf_counter() - t
    rows.append(
        (
            "feature engine, one core",
            f"{day.num_rows / feat_s:,.0f} events/s ({feat_s / day.num_rows * 1e6:.2f} µs/event)",
        )
    )

    rows += measure_scoring("default mix, ~10 % abuse, XGBoost alone", day, supervised_only(model))
    rows += measure_scoring("default mix, ~10 % abuse, both models", day, model)
    quiet_day = generate_market(MarketConfig(n_events=args.events, seed=13, mix=QUIET_MIX))
    rows += measure_scoring("~1 % abuse, XGBoost alone", quiet_day, supervised_only(model))
    rows += measure_scoring("~1 % abuse, both models", quiet_day, model)
    rows.append(("peak RSS of the whole benchmark", f"{peak_rss_mb():,.0f} MiB"))

    print_table(rows)


if __name__ == "__main__":
    main()
