"""The supervised detector: multi-class XGBoost over the typologies."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from tapewatch.features.catalog import FEATURE_NAMES, MODEL_FEATURES
from tapewatch.schema.enums import TYPOLOGIES, ManipulationType

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

N_CLASSES = len(TYPOLOGIES)
NONE_CLASS = TYPOLOGIES.index(ManipulationType.NONE)


@dataclass(frozen=True)
class XGBoostConfig:
    """Hyper-parameters of the supervised detector."""

    max_depth: int = 6
    learning_rate: float = 0.15
    n_estimators: int = 300
    early_stopping_rounds: int = 25
    min_child_weight: float = 1.0
    subsample: float = 0.9
    colsample_bytree: float = 0.9
    #: class weight = (n_none / n_class) ** weight_power; 0 means unweighted
    weight_power: float = 0.5
    seed: int = 0
    n_jobs: int = 0

    def config_hash(self) -> str:
        """Stable short hash of these settings."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


class SupervisedDetector:
    """XGBoost over feature rows; `score` is P(any manipulation)."""

    def __init__(
        self, config: XGBoostConfig | None = None, features: tuple[str, ...] = MODEL_FEATURES
    ) -> None:
        self.config = config or XGBoostConfig()
        self.features = features
        self._columns = np.array([FEATURE_NAMES.index(f) for f in features], dtype=np.int64)
        self.booster_: xgb.Booster | None = None
        self.best_iteration_: int | None = None

    def _select(self, features: F32) -> F32:
        """The model's columns of full feature rows."""
        return np.ascontiguousarray(features[:, self._columns])

    def fit(
        self,
        features: F32,
        classes: I64,
        valid_features: F32,
        valid_classes: I64,
    ) -> SupervisedDetector:
        """Train on full feature rows and class indices (positions in TYPOLOGIES).

        Early-stops on the validation rows.
        """
        cfg = self.config
        weights = class_weights(classes, cfg.weight_power)
        names = list(self.features)
        train = xgb.DMatrix(
            self._select(features), label=classes, weight=weights[classes], feature_names=names
        )
        valid = xgb.DMatrix(
            self._select(valid_features),
            label=valid_classes,
            weight=weights[valid_classes],
            feature_names=names,
        )
        params = {
            "objective": "multi:softprob",
            "num_class": N_CLASSES,
            "tree_method": "hist",
            "max_depth": cfg.max_depth,
            "eta": cfg.learning_rate,
            "min_child_weight": cfg.min_child_weight,
            "subsample": cfg.subsample,
            "colsample_bytree": cfg.colsample_bytree,
            "eval_metric": "mlogloss",
            "seed": cfg.seed,
            "nthread": cfg.n_jobs,
        }
        self.booster_ = xgb.train(
            params,
            train,
            num_boost_round=cfg.n_estimators,
            evals=[(valid, "valid")],
            early_stopping_rounds=cfg.early_stopping_rounds,
            verbose_eval=False,
        )
        self.best_iteration_ = int(self.booster_.best_iteration)
        self.booster_ = self.booster_[: self.best_iteration_ + 1]
        return self

    @property
    def booster(self) -> xgb.Booster:
        """The fitted booster."""
        if self.booster_ is None:
            raise RuntimeError("the detector is not fitted")
        return self.booster_

    def predict_proba(self, features: F32) -> F64:
        """Class probabilities per row (columns in TYPOLOGIES order)."""
        if len(features) == 0:
            return np.zeros((0, N_CLASSES))
        proba = self.booster.inplace_predict(self._select(features))
        return np.asarray(proba, dtype=np.float64).reshape(len(features), N_CLASSES)

    def score(self, features: F32) -> F64:
        """P(any manipulation) per row."""
        return 1.0 - self.predict_proba(features)[:, NONE_CLASS]

    def contributions(self, features: F32, class_index: I64) -> F64:
        """TreeSHAP contribution of every catalogue feature to each row's given class.

        Features the model does not use contribute 0.
        """
        matrix = xgb.DMatrix(self._select(features), feature_names=list(self.features))
        contribs = np.asarray(self.booster.predict(matrix, pred_contribs=True))
        # shape (rows, classes, model features + 1 bias)
        picked = contribs[np.arange(len(features)), class_index, :-1]
        full = np.zeros((len(features), len(FEATURE_NAMES)))
        full[:, self._columns] = picked
        return full

    def save(self, path: Path) -> None:
        """Write the booster (UBJSON)."""
        self.booster.save_model(str(path))

    @classmethod
    def load(
        cls, path: Path, config: XGBoostConfig, features: tuple[str, ...], n_threads: int = 0
    ) -> SupervisedDetector:
        """Read a booster written by `save`; n_threads 0 uses every core."""
        detector = cls(config, features)
        booster = xgb.Booster()
        booster.load_model(str(path))
        booster.set_param({"nthread": n_threads})
        detector.booster_ = booster
        return detector


def class_weights(classes: I64, power: float) -> F64:
    """Per-class sample weights, (n_none / n_class) ** power; absent classes get weight 1."""
    counts = np.bincount(classes, minlength=N_CLASSES).astype(np.float64)
    weights = np.ones(N_CLASSES)
    n_none = max(counts[NONE_CLASS], 1.0)
    present = counts > 0
    weights[present] = (n_none / counts[present]) ** power
    return weights
