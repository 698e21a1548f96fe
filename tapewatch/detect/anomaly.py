"""The anomaly detector at scoring time: an ONNX autoencoder and its calibration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from tapewatch.features.windows import SequenceBuffer

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

ONNX_FILE = "autoencoder.onnx"
CALIBRATION_FILE = "autoencoder_calibration.npy"
SCALING_FILE = "autoencoder_scaling.npy"
FILES = (ONNX_FILE, CALIBRATION_FILE, SCALING_FILE)
INPUT_NAME = "windows"
OUTPUT_NAME = "feature_error"
#: standardised values are clipped here, so one wild feature cannot dominate the error
CLIP = 12.0
#: a missing standardised value: negative zero reads as the feature's centre in every
#: computation, and no arithmetic on real values yields it, so it still marks "missing"
MISSING = np.float32(-0.0)
#: rows per ONNX Runtime call: small batches stay in cache and run fastest on one core
RUN_ROWS = 1024


@dataclass(frozen=True)
class AutoencoderConfig:
    """Shape and training of the LSTM autoencoder."""

    #: events per window: each trader-and-instrument key's last K feature vectors
    window: int = 16
    hidden: int = 16
    bottleneck: int = 16
    #: events the supervised screen scores below this are taken as likely normal
    normal_below: float = 0.3
    #: at most this many likely-normal windows are drawn for training, validation and
    #: calibration together
    max_windows: int = 120_000
    max_epochs: int = 30
    patience: int = 3
    batch_size: int = 256
    learning_rate: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("window", "hidden", "bottleneck", "max_windows", "max_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < self.normal_below <= 1.0:
            raise ValueError(f"normal_below must be in (0, 1], got {self.normal_below}")


class AnomalyDetector:
    """Reconstruction error of each window, per feature, and its calibrated score.

    `calibration` holds the sorted mean errors of held-out normal windows, so a score is the
    share of normal windows reconstructed better: 0.99 is more unusual than 99 % of normal.
    """

    def __init__(
        self,
        onnx_model: bytes,
        calibration: F64,
        columns: tuple[int, ...],
        window: int,
        scaling: F32,
    ) -> None:
        if len(calibration) == 0:
            raise ValueError("the calibration sample is empty")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
        self.onnx_model = onnx_model
        self.calibration = np.sort(np.asarray(calibration, dtype=np.float64))
        self.columns = columns
        self.window = window
        if scaling.shape != (2, len(columns)):
            raise ValueError(f"scaling must be 2 x {len(columns)}, got {scaling.shape}")
        self.scaling = scaling.astype(np.float32)

    def sequence_buffer(self) -> SequenceBuffer:
        """An empty window buffer that standardises each row as it enters."""
        return SequenceBuffer(
            self.window, self.columns, transform=self.standardise, pad=float(MISSING)
        )

    def standardise(self, rows: F32) -> F32:
        """Feature rows (n x C) as the network reads them: signed log, centred and scaled
        (the graph clips); a missing value becomes MISSING (-0.0: the centre, and still
        known as missing to `unstandardise`)."""
        center, scale = self.scaling
        with np.errstate(invalid="ignore"):
            z = (np.sign(rows) * np.log1p(np.abs(rows)) - center) / scale
        out: F32 = z.astype(np.float32)
        out[np.isnan(out)] = MISSING
        return out

    def unstandardise(self, values: F32) -> F32:
        """Standardised values back in the features' units (NaN where missing)."""
        center, scale = self.scaling
        y = values * scale + center
        out: F32 = (np.sign(y) * np.expm1(np.abs(y))).astype(np.float32)
        out[is_missing(values)] = np.nan
        return out

    def feature_errors(self, windows: F32) -> F32:
        """Squared reconstruction error per standardised window and feature (n x C)."""
        out = np.empty((len(windows), len(self.columns)), dtype=np.float32)
        for start in range(0, len(windows), RUN_ROWS):
            part = np.ascontiguousarray(windows[start : start + RUN_ROWS], dtype=np.float32)
            (out[start : start + len(part)],) = self.session.run([OUTPUT_NAME], {INPUT_NAME: part})
        return out

    def score(self, feature_errors: F32) -> F64:
        """Calibrated score in [0, 1]: the share of held-out normal windows with less error."""
        error = feature_errors.mean(axis=1, dtype=np.float64)
        rank = np.searchsorted(self.calibration, error, side="right")
        scores: F64 = rank / len(self.calibration)
        return scores

    def save(self, directory: Path) -> None:
        """Write the ONNX graph and the calibration sample."""
        (directory / ONNX_FILE).write_bytes(self.onnx_model)
        np.save(directory / CALIBRATION_FILE, self.calibration)
        np.save(directory / SCALING_FILE, self.scaling)

    @classmethod
    def load(cls, directory: Path, columns: tuple[int, ...], window: int) -> AnomalyDetector:
        """Read what `save` wrote."""
        return cls(
            (directory / ONNX_FILE).read_bytes(),
            np.load(directory / CALIBRATION_FILE),
            columns,
            window,
            np.load(directory / SCALING_FILE),
        )


def is_missing(values: F32) -> npt.NDArray[np.bool_]:
    """Where standardised values are MISSING (or NaN)."""
    missing: npt.NDArray[np.bool_] = ((values == 0) & np.signbit(values)) | np.isnan(values)
    return missing
