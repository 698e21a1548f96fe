"""Per-typology counts of a labelled table: events, episodes and share of all events."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.schema.enums import TYPOLOGIES, ManipulationType


@dataclass(frozen=True, slots=True)
class TypologySummary:
    """How much of one typology a table holds."""

    manipulation_type: ManipulationType
    events: int
    episodes: int
    share: float


def summarize(table: pa.Table) -> list[TypologySummary]:
    """Events, distinct episodes and share of events for every typology (NONE first)."""
    n = table.num_rows
    kinds = table.column("manipulation_type")
    scen = table.column("scenario_id")
    out = []
    for t in TYPOLOGIES:
        mask = pc.equal(kinds, t.value)
        events = int(pc.sum(mask).as_py() or 0)
        episodes = 0
        if t is not ManipulationType.NONE and events:
            episodes = len(pc.unique(pc.drop_null(pc.filter(scen, mask))))
        out.append(TypologySummary(t, events, episodes, events / n if n else 0.0))
    return out
