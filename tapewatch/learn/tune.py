"""Hyper-parameter search for the supervised detector with Optuna."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import optuna
from sklearn.metrics import average_precision_score

from tapewatch.detect.supervised import SupervisedDetector, XGBoostConfig
from tapewatch.learn.train import TrainingSet


def tune(
    data: TrainingSet,
    base: XGBoostConfig,
    n_trials: int,
    *,
    seed: int = 0,
    on_trial: Callable[[int, float], None] | None = None,
) -> XGBoostConfig:
    """Best configuration after n_trials, by average precision on the validation split."""
    s = data.split
    positive = data.classes[s.valid] != 0

    def objective(trial: optuna.Trial) -> float:
        config = replace(
            base,
            max_depth=trial.suggest_int("max_depth", 3, 9),
            learning_rate=trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
            n_estimators=trial.suggest_int("n_estimators", 100, 600, step=50),
            min_child_weight=trial.suggest_float("min_child_weight", 0.5, 10.0, log=True),
            weight_power=trial.suggest_float("weight_power", 0.0, 1.0),
        )
        detector = SupervisedDetector(config).fit(
            data.features[s.train],
            data.classes[s.train],
            data.features[s.valid],
            data.classes[s.valid],
        )
        value = float(average_precision_score(positive, detector.score(data.features[s.valid])))
        if on_trial is not None:
            on_trial(trial.number, value)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return replace(base, **study.best_params)
