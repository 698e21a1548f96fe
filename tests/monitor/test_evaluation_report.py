"""Rich rendering of an evaluation report."""

from __future__ import annotations

from evaluation_tables import Tape, alert_table, none_events
from rich.console import Console

from tapewatch.monitor import evaluate, render_report
from tapewatch.monitor.report import format_decimal, format_percent


def rendered(alerts: bool = True) -> str:
    tape = Tape()
    ids = none_events(tape)
    s1 = tape.episode("S1", "SPOOFING", [0.2, 0.998], [None, "SPOOFING"])
    tape.episode("S2", "SPOOFING", [0.1, 0.3])
    tape.episode("W1", "WASH_TRADING", [0.3, 0.4])
    table = alert_table([[ids[997]], s1[1:]]) if alerts else None
    report = evaluate(tape.score_table(), tape.labels(), table)
    console = Console(record=True, width=200, color_system=None)
    render_report(report, console)
    return console.export_text()


def test_formatting() -> None:
    assert format_percent(0.98734) == "98.7%"
    assert format_percent(1.0) == "100.0%"
    assert format_percent(None) == "–"
    assert format_percent(0.005, 2) == "0.50%"
    assert format_decimal(0.91234) == "0.912"
    assert format_decimal(None) == "–"


def test_table_has_typologies_with_events_then_overall() -> None:
    text = rendered()
    for header in ("typology", "episodes", "ep. recall @ FPR", "ep. recall", "typology acc."):
        assert header in text
    for header in ("event P", "event R", "F1", "PR-AUC"):
        assert header in text
    assert "SPOOFING" in text
    assert "WASH_TRADING" in text
    assert "LAYERING" not in text
    assert "MARKING_THE_CLOSE" not in text
    assert text.index("WASH_TRADING") < text.index("overall")
    wash = next(line for line in text.splitlines() if "WASH_TRADING" in line)
    assert "–" in wash  # precision undefined: nothing predicted as wash trading
    spoofing = next(line for line in text.splitlines() if "SPOOFING" in line)
    assert "50.0%" in spoofing  # one of two spoofing episodes caught
    lines = text.splitlines()
    under = lines[lines.index(spoofing) + 1]
    assert "9.5-90.5" in under  # the 95 % interval of one in two, under the recall
    assert "95% CI" in text


def test_summary_line_has_threshold_rates_and_alerts() -> None:
    text = rendered()
    assert "FPR threshold 0.995" in text
    assert "event precision at it" in text
    assert "flag rate" in text
    assert "alerts 2" in text
    assert "alert precision 50.0%" in text
    assert "alerts per 10k events" in text


def test_summary_without_alerts() -> None:
    assert "alerts – (none given)" in rendered(alerts=False)
