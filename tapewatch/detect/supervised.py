"""The supervised detector: an XGBoost screen for any manipulation and an XGBoost typology model.

The screen (binary) scores every event: `score` is P(any manipulation). The typology model
(multi-class over the six abuse typologies) runs only on the events the screen flags, so
every alert carries a typology while the per-event path pays for one small ensemble.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tapewatch.detect.forest import Forest
from tapewatch.detect.scoring import Cascade
from tapewatch.detect.treeshap import ShapTables
from tapewatch.features.catalog import FEATURE_NAMES, MODEL_FEATURES
from tapewatch.schema.enums import TYPOLOGIES, ManipulationType

if TYPE_CHECKING:
    import xgboost as xgb

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

N_CLASSES = len(TYPOLOGIES)
NONE_CLASS = TYPOLOGIES.index(ManipulationType.NONE)
ABUSE_CLASSES = np.array([i for i in range(N_CLASSES) if i != NONE_CLASS], dtype=np.int64)
SCREEN_FILE = "screen.ubj"
TYPOLOGY_FILE = "typology.ubj"
#: each booster's trees as the scoring kernel reads them, so scoring never loads XGBoost
FOREST_FILES = {SCREEN_FILE: "screen.forest.npz", TYPOLOGY_FILE: "typology.forest.npz"}
#: what `SupervisedDetector.save` writes
FILES = (SCREEN_FILE, TYPOLOGY_FILE, *FOREST_FILES.values())


@dataclass(frozen=True)
class XGBoostConfig:
    """Hyper-parameters of the supervised detector."""

    max_depth: int = 6
    learning_rate: float = 0.15
    n_estimators: int = 300
    #: the typology model runs on flagged events only, and separating typologies is easier
    typology_estimators: int = 80
    early_stopping_rounds: int = 25
    min_child_weight: float = 1.0
    subsample: float = 0.9
    colsample_bytree: float = 0.9
    #: weight of each manipulation class = (n_none / n_class) ** weight_power; 0: unweighted
    weight_power: float = 0.5
    #: share of training and validation rows also given with their trader features missing,
    #: so the screen can score feeds without trader ids (wash-trading rows excepted: without
    #: ids a wash trade leaves no trace, and teaching the model otherwise would be a lie)
    anonymous_share: float = 0.25
    seed: int = 0
    n_jobs: int = 0

    def params(self, objective: str, **extra: Any) -> dict[str, Any]:
        """XGBoost training parameters for one objective."""
        return {
            "objective": objective,
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "seed": self.seed,
            "nthread": self.n_jobs,
            **extra,
        }


class SupervisedDetector:
    """The screen and typology boosters over the model's feature columns."""

    def __init__(
        self, config: XGBoostConfig | None = None, features: tuple[str, ...] = MODEL_FEATURES
    ) -> None:
        self.config = config or XGBoostConfig()
        self.features = features
        self._columns = np.array([FEATURE_NAMES.index(f) for f in features], dtype=np.int64)
        first = int(self._columns[0]) if len(self._columns) else 0
        contiguous = np.array_equal(self._columns, np.arange(first, first + len(self._columns)))
        # a contiguous block of columns is a view (no copy on the per-event path)
        self._block = slice(first, first + len(self._columns)) if contiguous else None
        self.screen_: xgb.Booster | None = None
        self.typology_: xgb.Booster | None = None
        #: where a loaded detector reads a booster from when one is first needed
        self._directory: Path | None = None
        self._n_threads = 0
        self._base: float | None = None
        #: each booster's trees, by booster file name (read or built on first use)
        self._forests: dict[str, Forest] = {}
        #: the screen's TreeSHAP tables, once built (None inside: too large to build)
        self._shap: tuple[ShapTables | None] | None = None

    def _forest(self, name: str) -> Forest:
        """A booster's trees as the compiled kernel walks them (built on first use)."""
        forest = self._forests.get(name)
        if forest is None:
            forest = self._forests[name] = Forest.from_booster(self._booster(name))
        return forest

    def _shap_tables(self) -> ShapTables | None:
        """The screen's TreeSHAP tables (built on first use), None when too large."""
        if self._shap is None:
            forest = self._forest(SCREEN_FILE)
            self._shap = (ShapTables.build(forest) if forest.n_groups == 1 else None,)
        return self._shap[0]

    def _select(self, features: F32) -> F32:
        """The model's columns of full feature rows."""
        if self._block is not None:
            return features[:, self._block]
        return np.ascontiguousarray(features[:, self._columns])

    def _matrix(self, features: F32, labels: I64, weights: F64) -> xgb.DMatrix:
        import xgboost as xgb

        return xgb.DMatrix(
            self._select(features), label=labels, weight=weights, feature_names=list(self.features)
        )

    def fit(
        self, features: F32, classes: I64, valid_features: F32, valid_classes: I64
    ) -> SupervisedDetector:
        """Train on full feature rows and class indices (positions in TYPOLOGIES).

        Both boosters early-stop on the validation rows.
        """
        self._forests, self._shap, self._base = {}, None, None
        cfg = self.config
        weights = class_weights(classes, cfg.weight_power)
        is_abuse, valid_is_abuse = classes != NONE_CLASS, valid_classes != NONE_CLASS
        self.screen_ = self._train(
            cfg.n_estimators,
            cfg.params("binary:logistic", eval_metric="logloss"),
            self._matrix(features, is_abuse.astype(np.int64), weights[classes]),
            self._matrix(valid_features, valid_is_abuse.astype(np.int64), weights[valid_classes]),
        )
        # the typology model only ever sees manipulation events: the screen has flagged them
        code = np.full(N_CLASSES, -1, dtype=np.int64)
        code[ABUSE_CLASSES] = np.arange(len(ABUSE_CLASSES))
        ones = np.ones(len(classes))
        self.typology_ = self._train(
            cfg.typology_estimators,
            cfg.params("multi:softprob", num_class=len(ABUSE_CLASSES), eval_metric="mlogloss"),
            self._matrix(features[is_abuse], code[classes[is_abuse]], ones[is_abuse]),
            self._matrix(
                valid_features[valid_is_abuse],
                code[valid_classes[valid_is_abuse]],
                np.ones(int(valid_is_abuse.sum())),
            ),
        )
        return self

    def _train(
        self, rounds: int, params: dict[str, Any], train: xgb.DMatrix, valid: xgb.DMatrix
    ) -> xgb.Booster:
        import xgboost as xgb

        booster = xgb.train(
            params,
            train,
            num_boost_round=rounds,
            evals=[(valid, "valid")],
            early_stopping_rounds=self.config.early_stopping_rounds,
            verbose_eval=False,
        )
        return booster[: int(booster.best_iteration) + 1]

    @property
    def screen(self) -> xgb.Booster:
        """The fitted screen booster."""
        return self._booster(SCREEN_FILE)

    @property
    def typology_model(self) -> xgb.Booster:
        """The fitted typology booster."""
        return self._booster(TYPOLOGY_FILE)

    def _booster(self, name: str) -> xgb.Booster:
        """A booster by file name: fitted, or read from the model directory on first use."""
        booster = self.screen_ if name == SCREEN_FILE else self.typology_
        if booster is None and self._directory is not None:
            booster = _load_booster(self._directory / name, self._n_threads)
            if name == SCREEN_FILE:
                self.screen_ = booster
            else:
                self.typology_ = booster
        if booster is None:
            raise RuntimeError("the detector is not fitted")
        return booster

    def score(self, features: F32, cascade: Cascade | None = None) -> F64:
        """P(any manipulation) per row.

        With a cascade, rows whose margin after a stage's trees is below its cutoff keep
        that early estimate; only the others go on to the next stage's trees.
        """
        if len(features) == 0:
            return np.zeros(0)
        x = self._select(features)
        rounds = self._forest(SCREEN_FILE).n_rounds
        stages = [] if cascade is None else [s for s in cascade.stages if s[0] < rounds]
        if not stages:
            margin = self._margin(x)
        else:
            ends = np.array([t for t, _ in stages] + [rounds], dtype=np.int64)
            cutoffs = np.array([c for _, c in stages] + [-np.inf], dtype=np.float64)
            margin = self._forest(SCREEN_FILE).cascade(x, ends, cutoffs, self._base_margin())
        score: F64 = 1.0 / (1.0 + np.exp(-margin))
        return score

    def margin(self, features: F32, trees: int | None = None) -> F64:
        """Screen log-odds per row, from the first `trees` trees (all by default)."""
        return self._margin(self._select(features), (0, trees) if trees else (0, 0))

    def _margin(self, x: F32, rounds: tuple[int, int] = (0, 0)) -> F64:
        return np.asarray(self._forest(SCREEN_FILE).margins(x, rounds), dtype=np.float64)

    def _base_margin(self) -> float:
        """The screen's base margin, which every iteration range's margin includes."""
        if self._base is None:
            probe = np.zeros((1, len(self.features)), dtype=np.float32)
            n = self._forest(SCREEN_FILE).n_rounds
            k = max(1, n // 2)
            parts = self._margin(probe, (0, k))[0] + self._margin(probe, (k, n))[0]
            self._base = float(parts - self._margin(probe)[0])
        return self._base

    def typology(self, features: F32) -> I64:
        """Most likely abuse typology per row (a position in TYPOLOGIES, never NONE)."""
        if len(features) == 0:
            return np.zeros(0, dtype=np.int64)
        # the class of the highest margin is the class of the highest probability
        margins = self._forest(TYPOLOGY_FILE).margins(self._select(features))
        picked: I64 = ABUSE_CLASSES[margins.reshape(len(features), -1).argmax(axis=1)]
        return picked

    def contributions(self, features: F32, *, exact: bool = True) -> F64:
        """Contribution of every catalogue feature to each row's screen score, in log-odds.

        exact: TreeSHAP (XGBoost's `pred_contribs`, from precomputed tables where they fit);
        otherwise Saabas path attribution (cheaper still, an approximation). Features the
        model does not use contribute 0.
        """
        x = self._select(features)
        tables = self._shap_tables() if exact else None
        if tables is not None:
            contribs = tables.contributions(x)
        elif exact:
            import xgboost as xgb

            matrix = xgb.DMatrix(x, feature_names=list(self.features))
            contribs = np.asarray(self.screen.predict(matrix, pred_contribs=True))[:, :-1]
        else:
            contribs = self._forest(SCREEN_FILE).path_contributions(x)[:, :-1]
        full = np.zeros((len(features), len(FEATURE_NAMES)))
        full[:, self._columns] = contribs
        return full

    @property
    def n_trees(self) -> dict[str, int]:
        """Boosting rounds of each booster."""
        return {
            "screen": self._forest(SCREEN_FILE).n_rounds,
            "typology": self._forest(TYPOLOGY_FILE).n_rounds,
        }

    def save(self, directory: Path) -> None:
        """Write both boosters (UBJSON) into a directory, each with its trees as the
        scoring kernel reads them."""
        for name, forest_file in FOREST_FILES.items():
            self._booster(name).save_model(str(directory / name))
            self._forest(name).save(directory / forest_file, _file_hash(directory / name))

    @classmethod
    def load(
        cls, directory: Path, config: XGBoostConfig, features: tuple[str, ...], n_threads: int = 0
    ) -> SupervisedDetector:
        """Read a detector written by `save`: its trees from the forest files when they
        match the boosters (XGBoost is then loaded only if a booster itself is needed);
        n_threads 0 uses every core."""
        detector = cls(config, features)
        detector._directory, detector._n_threads = directory, n_threads
        for name, forest_file in FOREST_FILES.items():
            booster_file = directory / name
            if not booster_file.is_file():
                raise FileNotFoundError(f"{booster_file}: the model's booster is missing")
            forest = Forest.load(directory / forest_file, _file_hash(booster_file))
            if forest is not None:
                detector._forests[name] = forest
        return detector


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_booster(path: Path, n_threads: int) -> xgb.Booster:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(path))
    booster.set_param({"nthread": n_threads})
    return booster


def class_weights(classes: I64, power: float) -> F64:
    """Per-class sample weights, (n_none / n_class) ** power; absent classes get weight 1."""
    counts = np.bincount(classes, minlength=N_CLASSES).astype(np.float64)
    weights = np.ones(N_CLASSES)
    n_none = max(counts[NONE_CLASS], 1.0)
    present = counts > 0
    weights[present] = (n_none / counts[present]) ** power
    return weights
