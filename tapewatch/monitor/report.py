"""Rich rendering of an :class:`~tapewatch.monitor.evaluation.EvaluationReport`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tapewatch.monitor.evaluation import EvaluationReport, OverallMetrics, TypologyMetrics
from tapewatch.monitor.metrics import Interval

#: Shown for an undefined figure.
MISSING = "–"


def format_percent(value: float | None, digits: int = 1) -> str:
    """Format a share as a percentage like ``98.7%``; None as a dash."""
    if value is None:
        return MISSING
    return f"{100.0 * value:.{digits}f}%"


def format_decimal(value: float | None, digits: int = 3) -> str:
    """Format a figure like PR-AUC as ``0.912``; None as a dash."""
    if value is None:
        return MISSING
    return f"{value:.{digits}f}"


def format_interval(interval: Interval | None) -> str:
    """Format an interval of shares like ``92.3-99.4`` (``97.5-100`` at the top); None as a
    dash."""
    if interval is None:
        return MISSING
    return f"{100.0 * interval.low:.1f}-{100.0 * interval.high:.1f}".replace("100.0", "100")


def _cells(row: TypologyMetrics | OverallMetrics) -> list[str]:
    """The metric cells shared by typology rows and the overall row."""
    return [
        f"{row.n_episodes:,}",
        f"{format_percent(row.episode_recall_at_fpr)}\n"
        f"[dim]{format_interval(row.episode_recall_at_fpr_interval)}[/dim]",
        format_percent(row.episode_recall),
        format_percent(row.typology_accuracy),
        format_percent(row.event_precision),
        format_percent(row.event_recall),
        format_percent(row.event_f1),
        format_decimal(row.pr_auc),
    ]


def build_table(report: EvaluationReport) -> Table:
    """Build the per-typology Rich table, with the overall row last."""
    table = Table(title=f"Detection by typology (FPR {format_percent(report.fpr, 2)})")
    table.add_column("typology", style="bold")
    for name in (
        "episodes",
        "ep. recall @ FPR (95% CI)",
        "ep. recall",
        "typology acc.",
        "event P",
        "event R",
        "F1",
        "PR-AUC",
    ):
        table.add_column(name, justify="right")
    for row in report.rows_with_events():
        table.add_row(row.typology, *_cells(row))
    table.add_section()
    table.add_row("overall", *_cells(report.overall), style="bold")
    return table


def summary_lines(report: EvaluationReport) -> list[str]:
    """The lines printed under the table: threshold, flag rate and alerts, then extras."""
    overall = report.overall
    threshold = (
        MISSING
        if report.fpr_threshold is None
        else f"{report.fpr_threshold:.4g} ({format_percent(report.fpr_achieved, 2)} of "
        "normal events at or above)"
    )
    if report.n_alerts is None:
        alerts = f"alerts {MISSING} (none given)"
    else:
        per_10k = MISSING if report.alerts_per_10k is None else f"{report.alerts_per_10k:.1f}"
        alerts = (
            f"alerts {report.n_alerts:,} · alert precision "
            f"{format_percent(report.alert_precision)} · {per_10k} alerts per 10k events"
        )
    return [
        f"FPR threshold {threshold} · event precision at it "
        f"{format_percent(overall.event_precision_at_fpr)}",
        f"model threshold: flag rate {format_percent(overall.flag_rate, 2)} · " + alerts,
        f"{report.n_flagged:,} of {report.n_events:,} events flagged · FPR at model threshold "
        f"{format_percent(overall.false_positive_rate, 2)} · macro ep. recall "
        f"{format_percent(overall.macro_episode_recall)} "
        f"(@ FPR {format_percent(overall.macro_episode_recall_at_fpr)})",
    ]


def render_report(report: EvaluationReport, console: Console) -> None:
    """Print the evaluation table, the summary line and any warnings to a Rich console."""
    console.print(build_table(report))
    for line in summary_lines(report):
        console.print(line, highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
