"""Detection without trader ids (make bench): the same unseen day with and without accounts.

Trains as the demo does, scores an unseen 300,000-event day as generated and again with
every trader and counterparty id replaced by UNKNOWN (what the LOBSTER reader writes),
and, given --real EVENTS (e.g. a LOBSTER day after `tapewatch map --format lobster`),
reports the flag rate and top alerts on that real, unlabelled flow.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from demo_model import train_like_demo
from rich.console import Console

from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance
from tapewatch.monitor.evaluation import evaluate
from tapewatch.monitor.report import render_report
from tapewatch.schema.load import load_events
from tapewatch.synth import MarketConfig, generate_market


def without_ids(events: pa.Table) -> pa.Table:
    """The same events with every trader and counterparty id replaced by UNKNOWN."""
    for name in ("trader_id", "counterparty_id"):
        i = events.schema.get_field_index(name)
        unknown = pc.if_else(
            pc.is_null(events.column(name)), pa.scalar(None, pa.string()), pa.scalar("UNKNOWN")
        )
        events = events.set_column(i, events.schema.field(i), unknown)
    return events


def main() -> None:
    """Train once, evaluate with and without ids, and score a real file if given."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-events", type=int, default=1_000_000)
    parser.add_argument("--real", type=Path, help="a contract events file without labels")
    args = parser.parse_args()
    console = Console(width=140)
    model = train_like_demo(args.train_events)
    day = generate_market(MarketConfig(n_events=300_000, seed=100, date=dt.date(2026, 4, 6)))
    for name, events in (("with trader ids", day), ("trader ids removed", without_ids(day))):
        scores, alerts = score_events(events, model, Provenance(model.version, "", name))
        console.print(f"[bold]{name}[/]")
        render_report(evaluate(scores, events, alerts), console)
    if args.real is not None:
        events = load_events(args.real, deadletter_dir=None).table
        scores, alerts = score_events(events, model, Provenance(model.version, "", "real"))
        flagged = pc.sum(scores.column("flagged")).as_py() or 0
        console.print(
            f"[bold]{args.real.name}[/]: {events.num_rows:,} events, flagged {flagged:,} "
            f"({flagged / events.num_rows:.2%}), {alerts.num_rows} alerts "
            f"({alerts.num_rows / events.num_rows * 1e4:.1f} per 10k events)"
        )
        console.print(Counter(alerts.column("manipulation_type").to_pylist()))
        for a in alerts.sort_by([("score", "descending")]).slice(0, 10).to_pylist():
            console.print(
                f"{a['start']:%H:%M:%S} {a['manipulation_type']} {a['score']:.3f}: {a['explanation']}"
            )


if __name__ == "__main__":
    main()
