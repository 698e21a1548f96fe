"""evaluate(): hand-built tables whose right answers are worked out by hand."""

from __future__ import annotations

import json
from itertools import pairwise

import pyarrow as pa
import pytest
from evaluation_tables import Tape, alert_table, none_events

from tapewatch.monitor import EvaluationReport, evaluate

# The world of most tests (worked out below):
#   1000 NONE events scored 0.000, 0.001, ..., 0.999; the top 3 (>= 0.997) are flagged,
#     0.997 predicted SPOOFING, 0.998 and 0.999 LAYERING.
#   S1 SPOOFING: 0.2 0.5 0.998* 0.3        (* = flagged; predicted SPOOFING)
#   S2 SPOOFING: 0.1 0.4 0.996             (nothing flagged; 0.996 is above the FPR threshold)
#   L1 LAYERING: 0.999* 0.9999* 0.9995* 0.97 0.5   (predicted LAYERING, LAYERING, SPOOFING)
#   W1 WASH_TRADING: 0.3 0.4               (nothing flagged)
# At fpr=0.005, 5 of the 1000 NONE events may reach the threshold: it is 0.995.
N_EVENTS = 1000 + 4 + 3 + 5 + 2


def build() -> tuple[Tape, dict[str, list[str]]]:
    tape = Tape()
    ids = {"none": none_events(tape)}
    ids["S1"] = tape.episode(
        "S1", "SPOOFING", [0.2, 0.5, 0.998, 0.3], [None, None, "SPOOFING", None]
    )
    ids["S2"] = tape.episode("S2", "SPOOFING", [0.1, 0.4, 0.996])
    ids["L1"] = tape.episode(
        "L1",
        "LAYERING",
        [0.999, 0.9999, 0.9995, 0.97, 0.5],
        ["LAYERING", "LAYERING", "SPOOFING", None, None],
    )
    ids["W1"] = tape.episode("W1", "WASH_TRADING", [0.3, 0.4])
    return tape, ids


@pytest.fixture
def world() -> tuple[EvaluationReport, dict[str, list[str]]]:
    tape, ids = build()
    alerts = alert_table(
        [
            [ids["none"][997]],  # false alarm
            [ids["S1"][2], ids["none"][998]],  # real: one manipulation event is enough
            ids["L1"][:3],  # real
        ]
    )
    return evaluate(tape.score_table(), tape.labels(), alerts), ids


@pytest.fixture
def report(world: tuple[EvaluationReport, dict[str, list[str]]]) -> EvaluationReport:
    return world[0]


def test_fpr_threshold_admits_exactly_the_intended_share_of_none_events(
    report: EvaluationReport,
) -> None:
    assert report.fpr == 0.005
    assert report.fpr_threshold == pytest.approx(0.995)
    assert report.fpr_achieved == pytest.approx(0.005)  # 0.995 .. 0.999: 5 of 1000


def test_fpr_is_configurable() -> None:
    tape, _ = build()
    report = evaluate(tape.score_table(), tape.labels(), fpr=0.02)
    assert report.fpr_threshold == pytest.approx(0.980)
    assert report.fpr_achieved == pytest.approx(0.02)
    # S1 (0.998), S2 (0.996), L1 (0.999...) caught; W1 (max 0.4) not.
    assert report.overall.episode_recall_at_fpr == pytest.approx(3 / 4)


def test_an_episode_with_one_event_above_the_threshold_is_caught(
    report: EvaluationReport,
) -> None:
    spoofing = report.typology("SPOOFING")
    # S2 has no flagged event but its 0.996 is at or above 0.995.
    assert spoofing.episode_recall == pytest.approx(1 / 2)
    assert spoofing.episode_recall_at_fpr == pytest.approx(2 / 2)
    assert spoofing.n_caught == 1
    assert spoofing.n_caught_at_fpr == 2
    # Wilson's interval of 2 of 2: from 1 / (1 + z^2 / 2) to 1
    interval = spoofing.episode_recall_at_fpr_interval
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((0.3424, 1.0), abs=1e-4)


def test_event_precision_at_the_fpr_threshold(report: EvaluationReport) -> None:
    # At or above 0.995: NONE 0.995-0.999 (5), S1's 0.998, S2's 0.996 and L1's 0.999,
    # 0.9999 and 0.9995: 5 of 10 are manipulation, whatever the model flagged.
    assert report.overall.event_precision_at_fpr == pytest.approx(5 / 10)
    assert report.overall.event_precision == pytest.approx(4 / 7)
    # 3 of 4 episodes caught at the FPR threshold
    interval = report.overall.episode_recall_at_fpr_interval
    assert interval is not None
    assert interval.low < 0.75 < interval.high


def test_per_typology_figures(report: EvaluationReport) -> None:
    spoofing = report.typology("SPOOFING")
    assert spoofing.n_events == 7
    assert spoofing.n_episodes == 2
    # Predicted SPOOFING and flagged: NONE 0.997, S1's 0.998, L1's 0.9995; one is SPOOFING.
    assert spoofing.event_precision == pytest.approx(1 / 3)
    assert spoofing.event_recall == pytest.approx(1 / 7)
    assert spoofing.event_f1 == pytest.approx(0.2)  # 2 * (1/3)(1/7) / (10/21)
    assert spoofing.typology_accuracy == pytest.approx(1.0)
    assert spoofing.flag_rate == pytest.approx(3 / N_EVENTS)

    layering = report.typology("LAYERING")
    assert layering.n_events == 5
    assert layering.n_episodes == 1
    # Predicted LAYERING and flagged: NONE 0.998, 0.999 and L1's first two.
    assert layering.event_precision == pytest.approx(2 / 4)
    assert layering.event_recall == pytest.approx(3 / 5)
    assert layering.event_f1 == pytest.approx(6 / 11)
    assert layering.episode_recall == pytest.approx(1.0)
    assert layering.episode_recall_at_fpr == pytest.approx(1.0)
    # L1's flagged events are predicted LAYERING twice, SPOOFING once: majority LAYERING.
    assert layering.typology_accuracy == pytest.approx(1.0)
    assert layering.flag_rate == pytest.approx(4 / N_EVENTS)


def test_layering_pr_auc_by_hand(report: EvaluationReport) -> None:
    # Descending: 0.9999 P, 0.9995 P, 0.999 P+N (tie), ..., 0.97 P (30 N at or above),
    # ..., 0.5 P (500 N at or above). Each positive adds 1/5 recall.
    expected = 0.2 * (1 + 1 + 3 / 4 + 4 / 34 + 5 / 505)
    assert report.typology("LAYERING").pr_auc == pytest.approx(expected)


def test_a_typology_with_no_flagged_events_has_undefined_precision(
    report: EvaluationReport,
) -> None:
    wash = report.typology("WASH_TRADING")
    assert wash.n_events == 2
    assert wash.event_precision is None
    assert wash.event_recall == 0.0
    assert wash.event_f1 is None
    assert wash.episode_recall == 0.0
    assert wash.episode_recall_at_fpr == 0.0
    assert wash.typology_accuracy is None  # nothing caught to be typed
    assert wash.flag_rate == 0.0


def test_a_typology_without_events_is_all_undefined(report: EvaluationReport) -> None:
    row = report.typology("MARKING_THE_CLOSE")
    assert (row.n_events, row.n_episodes) == (0, 0)
    assert row.event_precision is None
    assert row.event_recall is None
    assert row.pr_auc is None
    assert row.episode_recall is None
    assert row.episode_recall_at_fpr is None
    assert row.typology_accuracy is None
    assert [r.typology for r in report.rows_with_events()] == [
        "SPOOFING",
        "LAYERING",
        "WASH_TRADING",
    ]


def test_overall_row(report: EvaluationReport) -> None:
    overall = report.overall
    assert overall.n_events == N_EVENTS
    assert overall.n_manipulation_events == 14
    assert overall.n_episodes == 4
    assert overall.n_flagged == 7
    assert overall.event_precision == pytest.approx(4 / 7)
    assert overall.event_recall == pytest.approx(4 / 14)
    assert overall.event_f1 == pytest.approx(8 / 21)
    assert overall.episode_recall == pytest.approx(2 / 4)
    assert overall.episode_recall_at_fpr == pytest.approx(3 / 4)
    assert overall.macro_episode_recall == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert overall.macro_episode_recall_at_fpr == pytest.approx((1 + 1 + 0) / 3)
    assert overall.typology_accuracy == pytest.approx(1.0)
    assert overall.flag_rate == pytest.approx(7 / N_EVENTS)
    assert overall.false_positive_rate == pytest.approx(3 / 1000)
    assert report.n_events == N_EVENTS
    assert report.n_flagged == 7


def test_alert_precision_counts_an_alert_with_any_manipulation_event_as_real(
    report: EvaluationReport,
) -> None:
    assert report.n_alerts == 3
    assert report.n_real_alerts == 2
    assert report.alert_precision == pytest.approx(2 / 3)
    assert report.alerts_per_10k == pytest.approx(3 / N_EVENTS * 10_000)
    assert report.warnings == ()


def test_alert_figures_are_none_without_alerts() -> None:
    tape, _ = build()
    report = evaluate(tape.score_table(), tape.labels())
    assert report.n_alerts is None
    assert report.alert_precision is None
    assert report.alerts_per_10k is None


def test_an_empty_alerts_table_has_no_precision() -> None:
    tape, _ = build()
    report = evaluate(tape.score_table(), tape.labels(), alert_table([]))
    assert report.n_alerts == 0
    assert report.alert_precision is None
    assert report.alerts_per_10k == 0.0


def test_alert_ids_without_a_label_are_reported() -> None:
    tape, ids = build()
    alerts = alert_table([["ghost-1", "ghost-2"], [ids["S1"][2]]])
    report = evaluate(tape.score_table(), tape.labels(), alerts)
    assert report.alert_precision == pytest.approx(1 / 2)
    assert any("2 transaction ids in alerts have no label" in w for w in report.warnings)


def test_score_rows_without_a_label_are_reported_and_left_out() -> None:
    tape, _ = build()
    full = evaluate(tape.score_table(), tape.labels())
    tape.add("stray-1", "NONE", None, 0.9999, "SPOOFING")
    tape.add("stray-2", "NONE", None, 0.9999, "SPOOFING")
    labels = tape.labels().slice(0, N_EVENTS)  # the strays have scores but no labels
    report = evaluate(tape.score_table(), labels)
    assert report.n_unlabelled == 2
    assert any("2 of 1016 score rows have no label" in w for w in report.warnings)
    assert report.typologies == full.typologies
    assert report.overall == full.overall


def test_labels_without_a_score_are_reported() -> None:
    tape, _ = build()
    report = evaluate(tape.score_table().slice(0, 1000), tape.labels())
    assert report.n_unscored == N_EVENTS - 1000
    assert report.overall.n_episodes == 0
    assert report.overall.episode_recall is None


def test_no_matching_transaction_ids_raise() -> None:
    tape, _ = build()
    other = Tape()
    other.add("elsewhere", "NONE", None, 0.5)
    with pytest.raises(ValueError, match="none of the 1014 score rows"):
        evaluate(tape.score_table(), other.labels())


def test_labels_without_manipulation_type_raise() -> None:
    tape, _ = build()
    unlabelled = tape.labels().drop_columns(["manipulation_type", "is_manipulation"])
    with pytest.raises(ValueError, match="no manipulation_type column"):
        evaluate(tape.score_table(), unlabelled)


def test_scores_missing_columns_raise() -> None:
    tape, _ = build()
    with pytest.raises(ValueError, match="flagged"):
        evaluate(tape.score_table().drop_columns(["flagged"]), tape.labels())


def test_unknown_typology_names_raise() -> None:
    tape, _ = build()
    tape.predicted[0] = "FRONT_RUNNING"
    with pytest.raises(ValueError, match="FRONT_RUNNING"):
        evaluate(tape.score_table(), tape.labels())


def test_inconsistent_is_manipulation_raises() -> None:
    tape, _ = build()
    labels = tape.labels()
    flipped = pa.array([not v for v in labels["is_manipulation"].to_pylist()])
    index = labels.schema.get_field_index("is_manipulation")
    with pytest.raises(ValueError, match="is_manipulation inconsistent"):
        evaluate(tape.score_table(), labels.set_column(index, "is_manipulation", flipped))


def test_nan_scores_raise() -> None:
    tape, _ = build()
    tape.scores[0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        evaluate(tape.score_table(), tape.labels())


@pytest.mark.parametrize("fpr", [-0.1, 1.5])
def test_fpr_out_of_range_raises(fpr: float) -> None:
    tape, _ = build()
    with pytest.raises(ValueError, match="fpr"):
        evaluate(tape.score_table(), tape.labels(), fpr=fpr)


def test_score_row_order_does_not_matter() -> None:
    tape, _ = build()
    scores = tape.score_table()
    reversed_scores = scores.take(pa.array(range(scores.num_rows - 1, -1, -1)))
    assert evaluate(reversed_scores, tape.labels()) == evaluate(scores, tape.labels())


def test_minimal_label_columns_and_other_string_types_are_accepted() -> None:
    tape, _ = build()
    labels = tape.labels().select(["transaction_id", "manipulation_type", "scenario_id"])
    labels = labels.set_column(
        1, "manipulation_type", labels["manipulation_type"].dictionary_encode()
    )
    scores = tape.score_table()
    scores = scores.set_column(
        0, "transaction_id", scores["transaction_id"].cast(pa.large_string())
    )
    assert evaluate(scores, labels).overall == evaluate(tape.score_table(), tape.labels()).overall


def test_typology_accuracy_needs_a_strict_majority() -> None:
    tape = Tape()
    none_events(tape, n=100, flag_from=100)
    tape.episode("L1", "LAYERING", [0.9, 0.9], ["LAYERING", "SPOOFING"])  # tie: not typed
    tape.episode("L2", "LAYERING", [0.9], ["SPOOFING"])  # caught, typed wrong
    tape.episode("L3", "LAYERING", [0.9, 0.9, 0.1], ["LAYERING", "LAYERING", None])
    layering = evaluate(tape.score_table(), tape.labels()).typology("LAYERING")
    assert layering.episode_recall == 1.0
    assert layering.typology_accuracy == pytest.approx(1 / 3)


def test_mixed_and_unassigned_episodes_are_reported() -> None:
    tape = Tape()
    none_events(tape, n=100, flag_from=100)
    tape.episode("M1", "SPOOFING", [0.9, 0.8], ["SPOOFING", None])
    tape.add("M1-x", "LAYERING", "M1", 0.1)  # one layering event in a spoofing episode
    tape.add("orphan", "WASH_TRADING", None, 0.95, "WASH_TRADING")  # no scenario_id
    tape.add("orphan2", "WASH_TRADING", "", 0.2)  # empty scenario_id counts as none
    report = evaluate(tape.score_table(), tape.labels())
    assert report.typology("SPOOFING").n_episodes == 1
    assert report.typology("LAYERING").n_episodes == 0
    assert report.typology("LAYERING").n_events == 1
    assert report.typology("WASH_TRADING").n_episodes == 0
    assert report.typology("WASH_TRADING").event_recall == pytest.approx(1 / 2)
    assert any("1 episodes mix typologies" in w for w in report.warnings)
    assert any("2 manipulation events have no scenario_id" in w for w in report.warnings)


def test_without_none_events_the_fpr_figures_are_undefined() -> None:
    tape = Tape()
    tape.episode("S1", "SPOOFING", [0.9, 0.2], ["SPOOFING", None])
    report = evaluate(tape.score_table(), tape.labels())
    assert report.fpr_threshold is None
    assert report.fpr_achieved is None
    assert report.typology("SPOOFING").episode_recall_at_fpr == 0.0
    assert report.typology("SPOOFING").pr_auc is None
    assert report.overall.pr_auc is None
    assert report.overall.false_positive_rate is None
    assert report.typology("SPOOFING").episode_recall == 1.0


def test_to_dict_is_plain_json(report: EvaluationReport) -> None:
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["typologies"][2]["typology"] == "WASH_TRADING"
    assert data["typologies"][2]["event_precision"] is None
    assert data["overall"]["n_episodes"] == 4
    assert data["typologies"][0]["episode_recall_at_fpr_interval"]["high"] == 1.0
    assert data["fpr_threshold"] == pytest.approx(0.995)
    assert json.loads(report.to_json()) == data


def test_tables_in_several_chunks_give_the_same_report() -> None:
    tape, ids = build()
    scores, labels = tape.score_table(), tape.labels()
    alerts = alert_table([[ids["none"][997]], ids["L1"][:3]])

    def chunked(table: pa.Table) -> pa.Table:
        cuts = [0, 3, 1001, 1006, table.num_rows]
        return pa.concat_tables([table.slice(a, b - a) for a, b in pairwise(cuts)])

    split_alerts = pa.concat_tables([alerts.slice(0, 1), alerts.slice(1)])
    assert chunked(labels)["scenario_id"].num_chunks > 1
    assert evaluate(chunked(scores), chunked(labels), split_alerts) == evaluate(
        scores, labels, alerts
    )
