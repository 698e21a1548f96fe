"""The leakage-free split."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from kit import random_events

from tapewatch.learn.split import split_rows


def test_split_keeps_every_episode_on_one_side_and_covers_all_rows() -> None:
    events = random_events(5000, seed=3)
    rng = np.random.default_rng(0)
    scenario = np.where(
        rng.random(5000) < 0.2, np.char.add("SC", rng.integers(0, 40, 5000).astype(str)), None
    )
    events = events.append_column("scenario_id", pa.array(scenario, pa.string()))
    split = split_rows(events)
    parts = np.full(5000, -1)
    for i, idx in enumerate((split.train, split.valid, split.test)):
        assert len(idx) > 0
        assert (parts[idx] == -1).all()
        parts[idx] = i
    assert (parts >= 0).all()
    for sc in set(scenario[scenario != None]):  # noqa: E711
        assert len(set(parts[scenario == sc])) == 1
    # normal rows are split by time blocks, so each part spans the day
    assert 0.5 < len(split.train) / 5000 < 0.85
