"""The CLI as a user runs it: generate, train, score, evaluate, and clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from kit import tapewatch

from tapewatch.schema.columns import ALERT_SCHEMA, SCORE_SCHEMA


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a generated training day, a model, and a scored unseen day."""
    d = tmp_path_factory.mktemp("cli")
    mix = "pump_and_dump=0.02,quote_stuffing=0.02,marking_the_close=0.02"
    run = tapewatch(
        "generate",
        "--events",
        "60000",
        "--seed",
        "3",
        "--mix",
        mix,
        "--out",
        "train.parquet",
        "--quiet",
        cwd=d,
    )
    assert run.returncode == 0, run.stderr
    run = tapewatch(
        "generate",
        "--events",
        "30000",
        "--seed",
        "4",
        "--date",
        "2026-03-03",
        "--out",
        "test.csv",
        "--quiet",
        cwd=d,
    )
    assert run.returncode == 0, run.stderr
    run = tapewatch("train", "--data", "train.parquet", "--out", "model", "--quiet", cwd=d)
    assert run.returncode == 0, run.stderr
    run = tapewatch(
        "score",
        "test.csv",
        "--model",
        "model",
        "--out",
        "scores.parquet",
        "--alerts",
        "alerts.parquet",
        "--quiet",
        cwd=d,
    )
    assert run.returncode == 0, run.stderr
    return d


def test_generate_prints_counts_per_typology(workdir: Path) -> None:
    run = tapewatch(
        "generate", "--events", "5000", "--seed", "1", "--out", "small.jsonl", cwd=workdir
    )
    assert run.returncode == 0, run.stderr
    for typology in ("NONE", "SPOOFING", "WASH_TRADING", "LAYERING"):
        assert typology in run.stdout
    assert (workdir / "small.jsonl").stat().st_size > 0


def test_train_writes_a_self_describing_model(workdir: Path) -> None:
    manifest = json.loads((workdir / "model" / "manifest.json").read_text())
    assert manifest["version"].startswith("tw-")
    assert 0.0 < manifest["scoring"]["alert_threshold"] <= 1.0
    assert len(manifest["data"]["sha256"]) == 64
    assert manifest["test_metrics"]["overall"]["n_events"] > 0
    assert "xgboost" in json.dumps(manifest["libraries"])
    assert len(manifest["model_features"]) >= 30
    # the autoencoder is part of the model by default, trained on the labelled day
    assert manifest["autoencoder_config"]["window"] == 16
    assert manifest["autoencoder"]["trained_on"] == "the labelled training events"
    assert (workdir / "model" / "autoencoder.onnx").stat().st_size > 1000
    assert 0.0 < manifest["scoring"]["ensemble_threshold"] <= 1.0


def test_train_with_unlabelled_real_data_trains_the_autoencoder_on_it(workdir: Path) -> None:
    run = tapewatch("generate", "--events", "20000", "--seed", "9", "--out", "real.parquet", "--quiet", cwd=workdir)  # fmt: skip
    assert run.returncode == 0, run.stderr
    real = pq.read_table(workdir / "real.parquet")
    pq.write_table(
        real.drop_columns(["is_manipulation", "manipulation_type", "scenario_id"]),
        workdir / "real.parquet",
    )
    run = tapewatch("train", "--data", "train.parquet", "--unlabelled", "real.parquet", "--out", "model-real", cwd=workdir)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "autoencoder epoch 1:" in run.stdout
    assert "ensemble threshold" in run.stdout
    manifest = json.loads((workdir / "model-real" / "manifest.json").read_text())
    assert manifest["autoencoder"]["trained_on"] == "real.parquet"
    assert manifest["autoencoder"]["likely_normal_events"] <= 20_500
    run = tapewatch("score", "test.csv", "--model", "model-real", "--out", "s-real.parquet", "--quiet", cwd=workdir)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert pq.read_table(workdir / "s-real.parquet").column("ae_score").null_count == 0


def test_training_without_the_autoencoder_scores_with_xgboost_alone(workdir: Path) -> None:
    # with a larger alert budget than the default model's (same data and seed)
    run = tapewatch("train", "--data", "train.parquet", "--no-autoencoder", "--target-fpr", "0.02", "--out", "model-xgb", "--quiet", cwd=workdir)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert not (workdir / "model-xgb" / "autoencoder.onnx").exists()
    scoring = json.loads((workdir / "model-xgb" / "manifest.json").read_text())["scoring"]
    default = json.loads((workdir / "model" / "manifest.json").read_text())["scoring"]
    assert (scoring["target_fpr"], default["target_fpr"]) == (0.02, 0.003)
    assert scoring["alert_threshold"] < default["alert_threshold"]
    run = tapewatch("score", "test.csv", "--model", "model-xgb", "--out", "s-xgb.parquet", "--quiet", cwd=workdir)  # fmt: skip
    assert run.returncode == 0, run.stderr
    scores = pq.read_table(workdir / "s-xgb.parquet")
    assert scores.column("ae_score").null_count == scores.num_rows
    assert scores.column("score").equals(scores.column("xgb_score"))


def test_score_writes_the_contract_columns_for_every_event(workdir: Path) -> None:
    scores = pq.read_table(workdir / "scores.parquet")
    alerts = pq.read_table(workdir / "alerts.parquet")
    assert scores.schema.equals(SCORE_SCHEMA)
    assert alerts.schema.equals(ALERT_SCHEMA)
    n_input = sum(1 for _ in (workdir / "test.csv").open()) - 1
    assert scores.num_rows == n_input
    assert alerts.num_rows > 0
    alert = alerts.slice(0, 1).to_pylist()[0]
    assert alert["explanation"]
    assert json.loads(alert["top_features"])
    assert alert["model_version"].startswith("tw-")


def test_scoring_twice_gives_the_same_alert_ids(workdir: Path) -> None:
    run = tapewatch(
        "score",
        "test.csv",
        "--model",
        "model",
        "--out",
        "again.parquet",
        "--alerts",
        "again-alerts.parquet",
        "--batch-rows",
        "777",
        "--quiet",
        cwd=workdir,
    )
    assert run.returncode == 0, run.stderr
    first = pq.read_table(workdir / "alerts.parquet").column("alert_id").to_pylist()
    again = pq.read_table(workdir / "again-alerts.parquet").column("alert_id").to_pylist()
    assert first == again
    assert pq.read_table(workdir / "scores.parquet").equals(
        pq.read_table(workdir / "again.parquet")
    )


def test_evaluate_reports_per_typology_figures_as_json(workdir: Path) -> None:
    run = tapewatch(
        "evaluate",
        "--scores",
        "scores.parquet",
        "--labels",
        "test.csv",
        "--alerts",
        "alerts.parquet",
        "--json",
        cwd=workdir,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    spoofing = next(t for t in report["typologies"] if t["typology"] == "SPOOFING")
    assert spoofing["n_episodes"] > 0
    assert 0.0 <= spoofing["episode_recall_at_fpr"] <= 1.0
    assert report["alerts_per_10k"] is not None


def test_bad_rows_go_to_the_dead_letter_file_and_the_run_goes_on(workdir: Path) -> None:
    with (workdir / "test.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))[:200]
    rows[5][rows[0].index("price")] = "-3.5"  # file line 6
    with (workdir / "dirty.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    run = tapewatch(
        "score",
        "dirty.csv",
        "--model",
        "model",
        "--out",
        "dirty.parquet",
        "--deadletter-dir",
        "dead",
        "--quiet",
        cwd=workdir,
    )
    assert run.returncode == 0, run.stderr
    assert "1 rejected" in run.stdout
    letters = [
        json.loads(x)
        for x in (workdir / "dead" / "dirty.deadletter.jsonl").read_text().splitlines()
    ]
    assert len(letters) == 1
    assert letters[0]["line"] == 6
    assert letters[0]["field"] == "price"
    assert pq.read_table(workdir / "dirty.parquet").num_rows == 198


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("transaction_id,timestamp\nx,2026-03-02T09:30:00Z\n", "missing required column"),
    ],
)
def test_an_unusable_file_is_one_clear_line_and_a_non_zero_exit(
    workdir: Path, content: str, expected: str
) -> None:
    (workdir / "broken.csv").write_text(content)
    run = tapewatch(
        "score", "broken.csv", "--model", "model", "--out", "x.parquet", "--quiet", cwd=workdir
    )
    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_missing_model_is_a_clear_error(workdir: Path) -> None:
    run = tapewatch(
        "score", "test.csv", "--model", "nowhere", "--out", "x.parquet", "--quiet", cwd=workdir
    )
    assert run.returncode == 2
    assert "not a tapewatch model directory" in run.stderr


def test_train_with_tuning_records_the_chosen_parameters(workdir: Path) -> None:
    run = tapewatch(
        "train", "--data", "train.parquet", "--out", "tuned", "--tune", "2", cwd=workdir
    )
    assert run.returncode == 0, run.stderr
    assert "trial 0" in run.stdout
    assert "trial 1" in run.stdout
    manifest = json.loads((workdir / "tuned" / "manifest.json").read_text())
    assert manifest["tuning_trials"] == 2
    default = json.loads((workdir / "model" / "manifest.json").read_text())
    assert manifest["xgboost_config"] != default["xgboost_config"]


def test_alerts_can_be_explained_with_the_cheaper_method(workdir: Path) -> None:
    run = tapewatch("score", "test.csv", "--model", "model", "--out", "s2.parquet", "--alerts", "a2.parquet", "--explain", "saabas", "--quiet", cwd=workdir)  # fmt: skip
    assert run.returncode == 0, run.stderr
    exact = pq.read_table(workdir / "alerts.parquet")
    cheap = pq.read_table(workdir / "a2.parquet")
    assert cheap.column("alert_id").equals(exact.column("alert_id"))
    assert cheap.column("config_hash")[0] != exact.column("config_hash")[0]
    assert all(json.loads(t) for t in cheap.column("top_features").to_pylist()[:20])
    bad = tapewatch("score", "test.csv", "--model", "model", "--out", "s3.parquet", "--explain", "magic", "--quiet", cwd=workdir)  # fmt: skip
    assert bad.returncode == 2
    assert "explanation must be one of" in bad.stderr


def test_review_queue_lists_the_top_flagged_events_for_analysts(workdir: Path) -> None:
    run = tapewatch("queue", "--events", "test.csv", "--scores", "scores.parquet", "--alerts", "alerts.parquet", "--top", "50", "--out", "queue.csv", cwd=workdir)  # fmt: skip
    assert run.returncode == 0, run.stderr
    with (workdir / "queue.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 50
    scores = [float(r["ensemble_score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    flagged = pq.read_table(workdir / "scores.parquet").to_pylist()
    top = sorted((r["score"] for r in flagged if r["flagged"]), reverse=True)[:50]
    assert scores == pytest.approx(top)
    for r in rows:
        assert r["detection_reason"].split(":")[0] in {
            "known pattern",
            "novel anomaly",
            "known pattern and novel anomaly",
            "combined score",
        }
        assert r["trader_id"]
        assert "=" in r["top_5_suspicious_features"]
        assert 0.0 <= float(r["autoencoder_score"]) <= 1.0
        assert r["explanation"]
        assert r["is_manipulation"] == r["notes"] == ""
    assert {
        "ensemble_score",
        "xgboost_score",
        "autoencoder_score",
        "requires_manual_review",
    } <= set(rows[0])
