"""Monitoring: detection evaluation against labelled events.

Importing the package imports none of its modules: each name is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapewatch.lazy import lazy_exports

if TYPE_CHECKING:
    from tapewatch.detect.scoring import DEFAULT_FPR
    from tapewatch.monitor.evaluation import (
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
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tapewatch.detect.scoring": ("DEFAULT_FPR",),
        "tapewatch.monitor.evaluation": (
            "EvaluationReport",
            "OverallMetrics",
            "TypologyMetrics",
            "evaluate",
        ),
        "tapewatch.monitor.report": ("render_report",),
    },
)
