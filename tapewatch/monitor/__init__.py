"""Monitoring: detection evaluation against labelled events."""

from tapewatch.monitor.evaluation import (
    DEFAULT_FPR,
    EvaluationReport,
    OverallMetrics,
    TypologyMetrics,
    evaluate,
)
from tapewatch.monitor.report import render_report

__all__ = [
    "DEFAULT_FPR",
    "EvaluationReport",
    "OverallMetrics",
    "TypologyMetrics",
    "evaluate",
    "render_report",
]
