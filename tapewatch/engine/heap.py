"""Keeping a long-running worker's loaded state out of the garbage collector's way."""

from __future__ import annotations

import gc


def freeze_loaded() -> None:
    """Collect once, then move everything alive now (the model, its compiled kernels,
    the libraries) out of the collector's reach for good.

    A worker or server keeps what it loaded for its whole life, yet every full pass of
    the collector walks all of it: with a model loaded that pause was 100-280 ms, taken
    by whichever batch or request happened to allocate at the time. Call it once, after
    loading and warming up and before taking input.
    """
    gc.collect()
    gc.freeze()
