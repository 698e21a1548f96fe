"""The model directory: a self-describing, versioned bundle of everything scoring needs."""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import tempfile
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from tapewatch.detect.anomaly import FILES as AE_FILES
from tapewatch.detect.anomaly import AnomalyDetector, AutoencoderConfig
from tapewatch.detect.scoring import ScoringConfig
from tapewatch.detect.supervised import FILES as SUPERVISED_FILES
from tapewatch.detect.supervised import (
    SCREEN_FILE,
    TYPOLOGY_FILE,
    SupervisedDetector,
    XGBoostConfig,
)
from tapewatch.errors import UserError
from tapewatch.features.catalog import FEATURE_NAMES, feature_columns
from tapewatch.features.config import FeatureConfig
from tapewatch.learn.hashing import config_hash
from tapewatch.schema.enums import TYPOLOGIES

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: the manifest key of the model's figures on its held-out test split (`tapewatch evaluate`'s)
TEST_METRICS = "test_metrics"
BOOSTERS = (SCREEN_FILE, TYPOLOGY_FILE)


class ModelFormatError(UserError):
    """A model directory that cannot be read."""


@dataclass(frozen=True)
class ModelBundle:
    """A trained model with its feature, detector and scoring configuration."""

    detector: SupervisedDetector
    feature_config: FeatureConfig
    xgb_config: XGBoostConfig
    scoring: ScoringConfig
    version: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the autoencoder and its configuration, when the model has one
    anomaly: AnomalyDetector | None = None
    ae_config: AutoencoderConfig | None = None

    @property
    def config_hash(self) -> str:
        """Hash of every component's configuration: which settings raised an alert."""
        configs: list[Any] = [self.feature_config, self.xgb_config, self.scoring]
        if self.ae_config is not None:
            configs.append(self.ae_config)
        return config_hash(*configs)

    @property
    def test_metrics(self) -> dict[str, Any]:
        """The model's figures on its held-out test split; empty when it has none."""
        metrics = self.metadata.get(TEST_METRICS)
        return metrics if isinstance(metrics, dict) else {}


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    versions = {"python": platform.python_version()}
    for name in (
        "tapewatch",
        "xgboost-cpu",
        "xgboost",
        "numpy",
        "numba",
        "pyarrow",
        "scikit-learn",
        "torch",
        "onnxruntime",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def save_model(bundle: ModelBundle, directory: Path) -> ModelBundle:
    """Write the bundle to a directory; returns it with its content-derived version id."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        bundle.detector.save(Path(tmp))
        files = list(SUPERVISED_FILES)
        # the version is read from what defines the model; derived files do not count
        defining = list(BOOSTERS)
        if bundle.anomaly is not None:
            bundle.anomaly.save(Path(tmp))
            files += list(AE_FILES)
            defining += list(AE_FILES)
        digest = hashlib.sha256(bundle.config_hash.encode())
        for name in defining:
            digest.update((Path(tmp) / name).read_bytes())
        version = "tw-" + digest.hexdigest()[:12]
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "feature_names": list(FEATURE_NAMES),
            "model_features": list(bundle.detector.features),
            "classes": [str(t) for t in TYPOLOGIES],
            "feature_config": asdict(bundle.feature_config),
            "xgboost_config": asdict(bundle.xgb_config),
            "scoring": asdict(bundle.scoring),
            "config_hash": bundle.config_hash,
            "trees": bundle.detector.n_trees,
            "autoencoder_config": asdict(bundle.ae_config) if bundle.ae_config else None,
            "libraries": library_versions(),
            **{k: v for k, v in bundle.metadata.items() if k not in {"version"}},
        }
        for name in files:
            os.replace(Path(tmp) / name, directory / name)
        if bundle.anomaly is None:
            for name in AE_FILES:
                (directory / name).unlink(missing_ok=True)
        manifest_tmp = Path(tmp) / MANIFEST
        manifest_tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        os.replace(manifest_tmp, directory / MANIFEST)
    return replace(bundle, version=version, metadata=manifest)


def load_model(directory: Path, *, n_threads: int = 0) -> ModelBundle:
    """Read a model directory written by `save_model`."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ModelFormatError(f"{directory}: not a tapewatch model directory (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"{manifest_path}: not valid JSON ({exc.msg})") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{directory}: model format {manifest.get('format_version')!r} is not {FORMAT_VERSION}"
        )
    try:
        feature_config = FeatureConfig(**manifest["feature_config"])
        xgb_config = XGBoostConfig(**manifest["xgboost_config"])
        scoring = ScoringConfig(**_current_scoring(manifest["scoring"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"{directory}: bad configuration in {MANIFEST}: {exc}") from None
    model_features = tuple(manifest.get("model_features", ()))
    unknown = set(model_features) - set(FEATURE_NAMES)
    if not model_features or unknown:
        raise ModelFormatError(
            f"{directory}: the model uses features this tapewatch does not compute: "
            f"{sorted(unknown) or 'none listed'}"
        )
    detector = SupervisedDetector.load(directory, xgb_config, model_features, n_threads=n_threads)
    ae_config, anomaly = None, None
    if manifest.get("autoencoder_config"):
        try:
            ae_config = AutoencoderConfig(**manifest["autoencoder_config"])
            anomaly = AnomalyDetector.load(directory, feature_columns(model_features), ae_config)
        except (OSError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{directory}: cannot read the autoencoder: {exc}") from None
    return ModelBundle(
        detector,
        feature_config,
        xgb_config,
        scoring,
        manifest["version"],
        manifest,
        anomaly,
        ae_config,
    )


def _current_scoring(saved: dict[str, Any]) -> dict[str, Any]:
    """Scoring settings of any saved model in today's fields: a single-stage early exit
    (`cascade_trees` a number, `cascade_cutoff`) becomes a one-stage cascade."""
    settings = dict(saved)
    if isinstance(settings.get("cascade_trees"), int):
        trees, cutoff = settings.pop("cascade_trees"), settings.pop("cascade_cutoff", None)
        usable = trees > 0 and cutoff is not None and math.isfinite(cutoff)
        settings["cascade_trees"] = [trees] if usable else []
        settings["cascade_cutoffs"] = [cutoff] if usable else []
    return settings
