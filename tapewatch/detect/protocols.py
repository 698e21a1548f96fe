"""The seam every detector speaks."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class Detector(Protocol):
    """A model over feature rows: higher scores are more suspicious."""

    def score(self, features: F32) -> F64:
        """Suspicion in [0, 1] per feature row."""
        ...
