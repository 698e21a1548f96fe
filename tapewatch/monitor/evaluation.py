"""Detection evaluation: scores and alerts against labelled events, per typology.

One quote-stuffing episode has hundreds of events and a spoof a handful, so pooled event
figures mostly measure stuffing. The headline figure is therefore per typology and per
episode: *episode recall at a fixed false-positive rate on normal events* (a threshold at
which ``fpr`` of the ``NONE`` events score at or above it; an episode is caught when any of
its events does), read beside alert precision and alerts per 10,000 events.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.detect.scoring import DEFAULT_FPR
from tapewatch.monitor.metrics import (
    BoolArray,
    EpisodeOutcomes,
    FloatArray,
    IntArray,
    Interval,
    average_precision,
    episode_outcomes,
    f1,
    mean_defined,
    ratio,
    recall_interval,
    threshold_at_fpr,
)
from tapewatch.schema.enums import TYPOLOGIES, ManipulationType

_TYPE_VALUES = pa.array([t.value for t in TYPOLOGIES], type=pa.string())
_N_TYPES = len(TYPOLOGIES)
_NONE = TYPOLOGIES.index(ManipulationType.NONE)
_SCORE_COLUMNS = ("transaction_id", "score", "flagged", "predicted_type")


@dataclass(frozen=True)
class TypologyMetrics:
    """Detection figures for one typology; None where a figure is undefined.

    ``event_precision``: among flagged events predicted as this typology, the share that
    are this typology. ``event_recall``: among this typology's events, the share flagged
    (as any type). ``pr_auc``: average precision of ``score`` for this typology's events
    against NONE events. ``episode_recall``: share of episodes with any event flagged;
    ``episode_recall_at_fpr``: with any event at or above the FPR threshold, and
    ``episode_recall_at_fpr_interval`` its 95 % Wilson interval (how far a recall measured on
    this many episodes can be from the true one). ``typology_accuracy``: share of caught
    episodes whose flagged events' strict-majority ``predicted_type`` is this typology.
    ``flag_rate``: share of all events flagged and predicted as this typology.
    """

    typology: str
    n_events: int
    n_episodes: int
    event_precision: float | None
    event_recall: float | None
    event_f1: float | None
    pr_auc: float | None
    episode_recall: float | None
    episode_recall_at_fpr: float | None
    typology_accuracy: float | None
    flag_rate: float | None
    n_flagged: int
    n_caught: int
    n_caught_at_fpr: int
    episode_recall_at_fpr_interval: Interval | None


@dataclass(frozen=True)
class OverallMetrics:
    """Figures over all typologies; None where a figure is undefined.

    Event precision, recall and F1 pool ``flagged`` against ``is_manipulation``; ``pr_auc``
    is average precision of ``score`` for manipulation against NONE events;
    ``macro_episode_recall`` (and ``..._at_fpr``) average the per-typology episode recalls
    over typologies that have episodes; ``false_positive_rate`` is the share of NONE
    events flagged at the model's own threshold. ``event_precision_at_fpr`` is the share of
    manipulation among the events at or above the FPR threshold: the precision that goes
    with ``episode_recall_at_fpr``.
    """

    n_events: int
    n_manipulation_events: int
    n_episodes: int
    event_precision: float | None
    event_recall: float | None
    event_f1: float | None
    pr_auc: float | None
    episode_recall: float | None
    episode_recall_at_fpr: float | None
    macro_episode_recall: float | None
    macro_episode_recall_at_fpr: float | None
    typology_accuracy: float | None
    flag_rate: float | None
    false_positive_rate: float | None
    n_flagged: int
    n_caught: int
    n_caught_at_fpr: int
    episode_recall_at_fpr_interval: Interval | None
    event_precision_at_fpr: float | None


@dataclass(frozen=True)
class EvaluationReport:
    """Result of :func:`evaluate`: per-typology rows, the overall row and alert figures."""

    typologies: tuple[TypologyMetrics, ...]
    overall: OverallMetrics
    fpr: float
    fpr_threshold: float | None
    fpr_achieved: float | None
    n_events: int
    n_flagged: int
    n_alerts: int | None
    n_real_alerts: int | None
    alert_precision: float | None
    alerts_per_10k: float | None
    n_unlabelled: int
    n_unscored: int
    warnings: tuple[str, ...]

    def typology(self, name: str) -> TypologyMetrics:
        """Return the row of the named typology (e.g. ``"SPOOFING"``)."""
        for row in self.typologies:
            if row.typology == name:
                return row
        raise KeyError(name)

    def rows_with_events(self) -> tuple[TypologyMetrics, ...]:
        """Return the typology rows that have at least one labelled event."""
        return tuple(row for row in self.typologies if row.n_events > 0)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-able data (None for undefined figures)."""
        data = asdict(self)
        data["typologies"] = [asdict(row) for row in self.typologies]
        data["warnings"] = list(self.warnings)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """Return the report as a JSON document."""
        return json.dumps(self.to_dict(), indent=indent)


@dataclass(frozen=True)
class _Events:
    """Scored events joined to their labels, as numpy arrays."""

    score: FloatArray
    flagged: BoolArray
    predicted: IntArray
    true: IntArray
    label_row: IntArray
    n_unlabelled: int
    n_unscored: int
    n_duplicates: int


def evaluate(
    scores: pa.Table,
    labels: pa.Table,
    alerts: pa.Table | None = None,
    *,
    fpr: float = DEFAULT_FPR,
) -> EvaluationReport:
    """Evaluate a scores table (and optionally its alerts) against labelled events."""
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be between 0 and 1, got {fpr}")
    label_types = _label_types(labels)
    label_manip = label_types != _NONE
    _check_is_manipulation(labels, label_manip)
    events = _join(scores, labels, label_types)
    warnings: list[str] = []
    n_events = int(events.score.size)
    if events.n_unlabelled:
        warnings.append(
            f"{events.n_unlabelled} of {events.n_unlabelled + n_events} score rows have no "
            "label and were left out"
        )
    if events.n_unscored:
        warnings.append(f"{events.n_unscored} labelled events have no score (not evaluated)")
    if events.n_duplicates:
        warnings.append(
            f"{events.n_duplicates} score rows repeat another row's transaction_id "
            "(each row counted as an event)"
        )

    none_scores = events.score[events.true == _NONE]
    threshold = threshold_at_fpr(none_scores, fpr)
    if threshold is None:
        warnings.append("no NONE events: the FPR threshold and recall at it are undefined")
        above = np.zeros(n_events, dtype=np.bool_)
        fpr_achieved = None
    else:
        above = events.score >= threshold
        fpr_achieved = ratio(int(np.count_nonzero(none_scores >= threshold)), none_scores.size)

    members, episode, n_no_scenario = _episodes(labels, events)
    if n_no_scenario:
        warnings.append(
            f"{n_no_scenario} manipulation events have no scenario_id: "
            "counted as events, not in any episode"
        )
    outcomes = episode_outcomes(
        episode,
        events.true[members],
        events.predicted[members],
        events.flagged[members],
        above[members],
        n_episodes=int(episode.max(initial=-1)) + 1,
        n_types=_N_TYPES,
    )
    if outcomes.n_mixed:
        warnings.append(
            f"{outcomes.n_mixed} episodes mix typologies; each counts under its most common one"
        )
    n_flagged_none = int(np.count_nonzero(events.flagged & (events.predicted == _NONE)))
    if n_flagged_none:
        warnings.append(f"{n_flagged_none} flagged events have predicted_type NONE")

    type_pr_aucs, overall_pr_auc = _pr_aucs(events)
    rows = _typology_rows(events, outcomes, type_pr_aucs)
    overall = _overall(events, outcomes, rows, overall_pr_auc, above)

    n_alerts: int | None = None
    n_real: int | None = None
    alerts_per_10k: float | None = None
    if alerts is not None:
        n_alerts, n_real, n_unknown_ids = _alert_counts(alerts, labels, label_manip)
        alerts_per_10k = 10_000.0 * n_alerts / n_events
        if n_unknown_ids:
            warnings.append(
                f"{n_unknown_ids} transaction ids in alerts have no label "
                "(counted as not manipulation)"
            )
    return EvaluationReport(
        typologies=rows,
        overall=overall,
        fpr=fpr,
        fpr_threshold=threshold,
        fpr_achieved=fpr_achieved,
        n_events=n_events,
        n_flagged=overall.n_flagged,
        n_alerts=n_alerts,
        n_real_alerts=n_real,
        alert_precision=None if n_alerts is None or n_real is None else ratio(n_real, n_alerts),
        alerts_per_10k=alerts_per_10k,
        n_unlabelled=events.n_unlabelled,
        n_unscored=events.n_unscored,
        warnings=tuple(warnings),
    )


def _as_strings(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Cast a string-like column (large, dictionary, view) to plain strings."""
    if pa.types.is_string(column.type):
        return column
    return column.cast(pa.string())


def _type_codes(column: pa.ChunkedArray | pa.Array, what: str) -> IntArray:
    """Map typology names to their index in TYPOLOGIES; unknown values raise."""
    values = _as_strings(column)
    codes = pc.fill_null(pc.index_in(values, value_set=_TYPE_VALUES), -1)
    array: IntArray = np.asarray(codes.to_numpy(), dtype=np.int64)
    bad = array < 0
    if bad.any():
        examples = pc.unique(values.filter(pa.array(bad))).to_pylist()[:5]
        raise ValueError(
            f"{int(bad.sum())} {what} values are not typologies, e.g. {examples}; "
            f"expected one of {[t.value for t in TYPOLOGIES]}"
        )
    return array


def _label_types(labels: pa.Table) -> IntArray:
    """Validate the labels table and return its rows' typology codes."""
    if "manipulation_type" not in labels.column_names:
        raise ValueError(
            "the labels table has no manipulation_type column: evaluation needs labelled "
            "events (transaction_id, manipulation_type, scenario_id, is_manipulation)"
        )
    if "transaction_id" not in labels.column_names:
        raise ValueError("the labels table has no transaction_id column")
    return _type_codes(labels["manipulation_type"], "labels manipulation_type")


def _check_is_manipulation(labels: pa.Table, derived: BoolArray) -> None:
    """Raise when is_manipulation disagrees with manipulation_type != NONE."""
    if "is_manipulation" not in labels.column_names:
        return
    column = labels["is_manipulation"].cast(pa.bool_())
    stated = pc.fill_null(column, pa.scalar(False)).to_numpy(zero_copy_only=False)
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    n_bad = int(np.count_nonzero(valid & (stated != derived)))
    if n_bad:
        raise ValueError(
            f"{n_bad} labelled events have is_manipulation inconsistent with "
            "manipulation_type (it must be true exactly when the type is not NONE)"
        )


def _join(scores: pa.Table, labels: pa.Table, label_types: IntArray) -> _Events:
    """Match score rows to label rows by transaction_id, dropping unmatched score rows."""
    missing = [c for c in _SCORE_COLUMNS if c not in scores.column_names]
    if missing:
        raise ValueError(f"the scores table lacks column(s) {missing}")
    if scores.num_rows == 0:
        raise ValueError("the scores table is empty")
    label_ids = _as_strings(labels["transaction_id"])
    index = pc.index_in(_as_strings(scores["transaction_id"]), value_set=label_ids)
    label_row_all = np.asarray(pc.fill_null(index, -1).to_numpy(), dtype=np.int64)
    matched = label_row_all >= 0
    n_matched = int(np.count_nonzero(matched))
    if n_matched == 0:
        raise ValueError(
            f"none of the {scores.num_rows} score rows' transaction_ids appear in the "
            f"{labels.num_rows} labelled events: are these the labels of the scored file?"
        )
    mask = pa.array(matched)

    score_col = scores["score"].cast(pa.float64()).filter(mask)
    if score_col.null_count:
        raise ValueError(f"{score_col.null_count} score rows have no score")
    score = np.asarray(score_col.to_numpy(), dtype=np.float64)
    if np.isnan(score).any():
        raise ValueError(f"{int(np.isnan(score).sum())} score rows have a NaN score")
    flagged_col = scores["flagged"].cast(pa.bool_()).filter(mask)
    if flagged_col.null_count:
        raise ValueError(f"{flagged_col.null_count} score rows have no flagged value")
    flagged = np.asarray(flagged_col.to_numpy(zero_copy_only=False), dtype=np.bool_)
    predicted_col = pc.fill_null(
        _as_strings(scores["predicted_type"]).filter(mask), ManipulationType.NONE.value
    )
    predicted = _type_codes(predicted_col, "scores predicted_type")

    label_row = label_row_all[matched]
    uses = np.bincount(label_row, minlength=labels.num_rows)
    return _Events(
        score=score,
        flagged=flagged,
        predicted=predicted,
        true=label_types[label_row],
        label_row=label_row,
        n_unlabelled=scores.num_rows - n_matched,
        n_unscored=int(np.count_nonzero(uses == 0)),
        n_duplicates=int(np.sum(uses[uses > 1] - 1)),
    )


def _episodes(labels: pa.Table, events: _Events) -> tuple[IntArray, IntArray, int]:
    """Episode members (positions in events), their episode codes, and events with none."""
    manip_pos = np.flatnonzero(events.true != _NONE)
    if "scenario_id" not in labels.column_names:
        return manip_pos[:0], np.zeros(0, dtype=np.int64), int(manip_pos.size)
    scenario = _as_strings(labels["scenario_id"]).take(pa.array(events.label_row[manip_pos]))
    has_id = pc.fill_null(pc.not_equal(scenario, ""), pa.scalar(False))
    has_id_np = np.asarray(has_id.to_numpy(zero_copy_only=False), dtype=np.bool_)
    named = scenario.filter(has_id)
    if isinstance(named, pa.ChunkedArray):  # one array, so one dictionary for all chunks
        named = named.combine_chunks()
    encoded = pc.dictionary_encode(named)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return manip_pos[has_id_np], codes, int(np.count_nonzero(~has_id_np))


def _pr_aucs(events: _Events) -> tuple[list[float | None], float | None]:
    """PR-AUC per typology (vs NONE events) and for manipulation vs NONE."""
    order = np.argsort(events.score, kind="stable")
    score = events.score[order]
    true = events.true[order]
    is_none = true == _NONE
    per_type: list[float | None] = []
    for code in range(_N_TYPES):
        if code == _NONE:
            per_type.append(None)
            continue
        of_type = true == code
        if not of_type.any():
            per_type.append(None)
            continue
        keep = of_type | is_none
        per_type.append(average_precision(of_type[keep], score[keep], sorted_ascending=True))
    return per_type, average_precision(~is_none, score, sorted_ascending=True)


def _typology_rows(
    events: _Events, outcomes: EpisodeOutcomes, pr_aucs: list[float | None]
) -> tuple[TypologyMetrics, ...]:
    """One TypologyMetrics per typology other than NONE, in TYPOLOGIES order."""
    n = events.score.size
    flagged = events.flagged
    n_true = np.bincount(events.true, minlength=_N_TYPES)
    n_true_flagged = np.bincount(events.true[flagged], minlength=_N_TYPES)
    n_predicted = np.bincount(events.predicted[flagged], minlength=_N_TYPES)
    correct = flagged & (events.predicted == events.true)
    n_correct = np.bincount(events.predicted[correct], minlength=_N_TYPES)
    n_episodes = np.bincount(outcomes.typology, minlength=_N_TYPES)
    n_caught = np.bincount(outcomes.typology[outcomes.caught], minlength=_N_TYPES)
    n_caught_fpr = np.bincount(outcomes.typology[outcomes.caught_at_fpr], minlength=_N_TYPES)
    n_typed = np.bincount(outcomes.typology[outcomes.typed_correctly], minlength=_N_TYPES)

    rows = []
    for code, typology in enumerate(TYPOLOGIES):
        if code == _NONE:
            continue
        precision = ratio(int(n_correct[code]), int(n_predicted[code]))
        recall = ratio(int(n_true_flagged[code]), int(n_true[code]))
        rows.append(
            TypologyMetrics(
                typology=typology.value,
                n_events=int(n_true[code]),
                n_episodes=int(n_episodes[code]),
                event_precision=precision,
                event_recall=recall,
                event_f1=f1(precision, recall),
                pr_auc=pr_aucs[code],
                episode_recall=ratio(int(n_caught[code]), int(n_episodes[code])),
                episode_recall_at_fpr=ratio(int(n_caught_fpr[code]), int(n_episodes[code])),
                typology_accuracy=ratio(int(n_typed[code]), int(n_caught[code])),
                flag_rate=ratio(int(n_predicted[code]), n),
                n_flagged=int(n_predicted[code]),
                n_caught=int(n_caught[code]),
                n_caught_at_fpr=int(n_caught_fpr[code]),
                episode_recall_at_fpr_interval=recall_interval(
                    int(n_caught_fpr[code]), int(n_episodes[code])
                ),
            )
        )
    return tuple(rows)


def _overall(
    events: _Events,
    outcomes: EpisodeOutcomes,
    rows: tuple[TypologyMetrics, ...],
    pr_auc: float | None,
    above: BoolArray,
) -> OverallMetrics:
    """The pooled row over all typologies (``above``: events at or above the FPR threshold)."""
    is_manip = events.true != _NONE
    flagged = events.flagged
    n_flagged = int(np.count_nonzero(flagged))
    n_manip = int(np.count_nonzero(is_manip))
    true_positives = int(np.count_nonzero(flagged & is_manip))
    precision = ratio(true_positives, n_flagged)
    recall = ratio(true_positives, n_manip)
    n_caught = int(np.count_nonzero(outcomes.caught))
    n_caught_fpr = int(np.count_nonzero(outcomes.caught_at_fpr))
    return OverallMetrics(
        n_events=int(events.score.size),
        n_manipulation_events=n_manip,
        n_episodes=outcomes.n_episodes,
        event_precision=precision,
        event_recall=recall,
        event_f1=f1(precision, recall),
        pr_auc=pr_auc,
        episode_recall=ratio(n_caught, outcomes.n_episodes),
        episode_recall_at_fpr=ratio(n_caught_fpr, outcomes.n_episodes),
        macro_episode_recall=mean_defined([row.episode_recall for row in rows]),
        macro_episode_recall_at_fpr=mean_defined([row.episode_recall_at_fpr for row in rows]),
        typology_accuracy=ratio(int(np.count_nonzero(outcomes.typed_correctly)), n_caught),
        flag_rate=ratio(n_flagged, events.score.size),
        false_positive_rate=ratio(
            int(np.count_nonzero(flagged & ~is_manip)), events.score.size - n_manip
        ),
        n_flagged=n_flagged,
        n_caught=n_caught,
        n_caught_at_fpr=n_caught_fpr,
        episode_recall_at_fpr_interval=recall_interval(n_caught_fpr, outcomes.n_episodes),
        event_precision_at_fpr=ratio(
            int(np.count_nonzero(above & is_manip)), int(np.count_nonzero(above))
        ),
    )


def _alert_counts(
    alerts: pa.Table, labels: pa.Table, label_manip: BoolArray
) -> tuple[int, int, int]:
    """Number of alerts, of real alerts, and of alert transaction ids without a label."""
    if "transaction_ids" not in alerts.column_names:
        raise ValueError("the alerts table has no transaction_ids column")
    n_alerts = alerts.num_rows
    if n_alerts == 0:
        return 0, 0, 0
    column = alerts["transaction_ids"].combine_chunks()
    flat = _as_strings(pc.list_flatten(column))
    parents = np.asarray(pc.list_parent_indices(column).to_numpy(), dtype=np.int64)
    label_ids = _as_strings(labels["transaction_id"])
    manip_ids = label_ids.filter(pa.array(label_manip))
    is_real_id = pc.fill_null(pc.is_in(flat, value_set=manip_ids), pa.scalar(False))
    is_real_np = np.asarray(is_real_id.to_numpy(zero_copy_only=False), dtype=np.bool_)
    real = np.bincount(parents[is_real_np], minlength=n_alerts) > 0
    distinct = pc.unique(flat.filter(pc.is_valid(flat)))
    n_found = int(pc.sum(pc.is_in(label_ids, value_set=distinct)).as_py() or 0)
    return n_alerts, int(np.count_nonzero(real)), max(0, len(distinct) - n_found)
