"""Detection on unseen generated days (make bench): per-typology figures with many episodes.

Trains as the demo does (one 1,000,000-event day with the rarer typologies over-sampled),
then scores several unseen days of the default mix, other seeds and dates, and evaluates
them pooled, so every typology has enough episodes for its recall to mean something.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import pyarrow as pa
from demo_model import train_like_demo
from rich.console import Console

from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance
from tapewatch.monitor.compare import compare_detectors, render_comparison, standard_detectors
from tapewatch.monitor.evaluation import evaluate
from tapewatch.monitor.report import render_report
from tapewatch.synth import MarketConfig, generate_market


def main() -> None:
    """Train once, score unseen days, print the evaluation."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-events", type=int, default=1_000_000)
    parser.add_argument("--test-events", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=100, help="seed of the first day")
    args = parser.parse_args()
    console = Console(width=140)

    t = time.perf_counter()
    model = train_like_demo(args.train_events)
    console.print(
        f"trained in {time.perf_counter() - t:.0f} s; threshold {model.scoring.alert_threshold:.4f}"
    )

    scores, alerts, labels = [], [], []
    for day in range(args.days):
        events = generate_market(
            MarketConfig(
                n_events=args.test_events,
                seed=args.first_seed + day,
                date=dt.date(2026, 4, 6 + day),
            )
        )
        s, a = score_events(
            events, model, Provenance(model.version, model.config_hash, f"day{day}")
        )
        scores.append(s)
        alerts.append(a)
        labels.append(events)
    report = evaluate(pa.concat_tables(scores), pa.concat_tables(labels), pa.concat_tables(alerts))
    console.print(
        f"{args.days} unseen days of {args.test_events:,} events "
        f"(seeds {args.first_seed}+, default mix)"
    )
    render_report(report, console)
    pooled, truth = pa.concat_tables(scores), pa.concat_tables(labels)
    detectors = standard_detectors(pooled, model.scoring.ensemble_weight)
    render_comparison(compare_detectors(pooled, truth, detectors), console)


if __name__ == "__main__":
    main()
