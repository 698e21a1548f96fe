"""The model every benchmark measures: trained as `tapewatch demo` trains it."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import fields, replace
from pathlib import Path

import tapewatch
from tapewatch.cli.demo import TRAINING_MIX
from tapewatch.detect.anomaly import AutoencoderConfig
from tapewatch.detect.scoring import ScoringConfig
from tapewatch.learn.registry import ModelBundle, load_model, save_model
from tapewatch.learn.workflow import train_on_events
from tapewatch.synth import AbuseMix, MarketConfig, generate_market

#: a tenth of the default abuse, nearer what real flow holds
QUIET_MIX = AbuseMix(**{f.name: getattr(AbuseMix(), f.name) / 10 for f in fields(AbuseMix)})
#: where benchmark models are kept between runs
CACHE = Path("tapewatch-data/bench-cache")


def train_like_demo(
    n_events: int, *, seed: int = 7, n_threads: int = 0, scoring: ScoringConfig | None = None
) -> ModelBundle:
    """Train on a generated day with the demo's mix, XGBoost and the autoencoder; saved and
    loaded as `score` loads it."""
    day = generate_market(MarketConfig(n_events=n_events, seed=seed, mix=TRAINING_MIX))
    outcome = train_on_events(
        day, data_path="bench", data_hash="bench", ae_config=AutoencoderConfig(), scoring=scoring
    )
    with tempfile.TemporaryDirectory() as tmp:
        save_model(outcome.bundle, Path(tmp))
        return load_model(Path(tmp), n_threads=n_threads)


def demo_model_dir(n_events: int, *, seed: int = 7, cache: Path = CACHE) -> Path:
    """A model directory trained as in the demo, trained once and then reused from `cache`
    for as long as tapewatch's code is unchanged."""
    directory = cache / f"demo-{n_events}-{seed}-{_code_hash()}"
    if not (directory / "manifest.json").exists():
        day = generate_market(MarketConfig(n_events=n_events, seed=seed, mix=TRAINING_MIX))
        outcome = train_on_events(
            day, data_path="bench", data_hash="bench", ae_config=AutoencoderConfig()
        )
        save_model(outcome.bundle, directory)
    return directory


def supervised_only(model: ModelBundle) -> ModelBundle:
    """The same model without its autoencoder: XGBoost alone decides."""
    return replace(
        model,
        anomaly=None,
        ae_config=None,
        scoring=replace(model.scoring, ensemble_threshold=None, anonymous_ensemble_threshold=None),
    )


def _code_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(tapewatch.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
