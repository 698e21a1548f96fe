"""The service registers a model directory's version with the model's test figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from workbench import Workbench

from tapewatch.api.service import Service, ServiceSettings
from tapewatch.learn.registry import TEST_METRICS, load_model
from tapewatch.store.versions import active_version, list_versions

#: a model directory saved by an earlier tapewatch (format 1), committed with its script
MODEL_V1 = Path(__file__).parents[1] / "learn" / "fixtures" / "model-v1"


def registered_metrics(model_dir: Path, tmp_path: Path) -> dict[str, object]:
    """The metrics the store keeps for `model_dir` once a service has opened with it."""
    service = Service.open(
        ServiceSettings(
            db=str(tmp_path / "tapewatch.db"),
            lake=None,
            model_dir=model_dir,
            session_secret="test-secret",
        )
    )
    try:
        info = active_version(service.engine)
        assert info is not None
        assert [v.version for v in list_versions(service.engine)] == [info.version]
        return info.metrics
    finally:
        service.store.close()


@pytest.mark.parametrize("which", ["trained", "committed v1"])
def test_a_registered_version_keeps_the_models_test_metrics(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if which == "trained":
        workbench: Workbench = request.getfixturevalue("workbench")
        model_dir = workbench.model_dir
    else:
        model_dir = MODEL_V1
    manifest_metrics = load_model(model_dir).metadata[TEST_METRICS]
    assert manifest_metrics["overall"]["n_events"] > 0
    metrics = registered_metrics(model_dir, tmp_path)
    assert metrics == manifest_metrics
