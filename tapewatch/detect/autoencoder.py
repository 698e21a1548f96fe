"""Training the LSTM autoencoder in PyTorch and exporting it to ONNX.

Only training imports torch; scoring runs the exported graph with ONNX Runtime
(`tapewatch.detect.anomaly`). The graph takes standardised windows (missing values kept
as NaN); the standardisation (signed log, centre, scale, clip) runs once per event as it
enters its key's window, with the centre and scale saved beside the graph.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from tapewatch.detect.anomaly import CLIP, INPUT_NAME, OUTPUT_NAME, AutoencoderConfig

F32 = npt.NDArray[np.float32]
#: a validation error must fall by this share to count as progress for early stopping
MIN_IMPROVEMENT = 3e-3


def signed_log(values: torch.Tensor) -> torch.Tensor:
    """sign(x) * log(1 + |x|): tames counts and ratios with heavy tails."""
    return torch.sign(values) * torch.log1p(torch.abs(values))


class SequenceAutoencoder(nn.Module):
    """LSTM encoder to a small code, LSTM decoder back to the window; outputs error per feature."""

    center: torch.Tensor
    scale: torch.Tensor
    step_weight: torch.Tensor

    def __init__(self, n_features: int, config: AutoencoderConfig) -> None:
        super().__init__()
        self.register_buffer("center", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        # the event being scored (the last step) carries half the error, its history the rest
        weight = torch.ones(config.window, 1)
        weight[-1] = max(config.window - 1, 1)
        self.register_buffer("step_weight", weight / weight.sum())
        self.encoder = nn.LSTM(n_features, config.hidden, batch_first=True)
        self.to_code = nn.Linear(config.hidden, config.bottleneck)
        self.decoder = nn.LSTM(config.bottleneck, config.hidden, batch_first=True)
        self.to_features = nn.Linear(config.hidden, n_features)

    def fit_scaling(self, windows: F32) -> None:
        """Centre and scale of each feature's signed log, from the windows' last rows."""
        last = signed_log(torch.from_numpy(windows[:, -1, :]))
        center = torch.nanmean(last, dim=0)
        spread = torch.sqrt(torch.nanmean((last - center) ** 2, dim=0))
        self.center.copy_(torch.nan_to_num(center, nan=0.0))
        self.scale.copy_(torch.where(torch.isfinite(spread) & (spread > 1e-6), spread, 1.0))

    def standardise(self, windows: torch.Tensor) -> torch.Tensor:
        """Scaled inputs, a missing value read as 0 (the feature's centre); scoring does the
        same outside the graph, once per event (`AnomalyDetector.standardise`)."""
        x = (signed_log(windows) - self.center) / self.scale
        return torch.where(torch.isnan(x), torch.zeros_like(x), x)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Squared reconstruction error per feature (n x C) of standardised windows. The
        window's last step weighs as much as all earlier steps together: the score is about
        this event, in context."""
        # clipped here, not when standardised, so the window keeps exact values
        x = torch.clamp(windows, -CLIP, CLIP)
        _, (hidden, _) = self.encoder(x)
        code = self.to_code(hidden[-1])
        steps = code.unsqueeze(1).expand(-1, x.shape[1], -1)
        decoded, _ = self.decoder(steps)
        squared = (self.to_features(decoded) - x) ** 2
        errors: torch.Tensor = (squared * self.step_weight).sum(dim=1)
        return errors


@dataclass(frozen=True)
class TrainedAutoencoder:
    """The fitted module, its ONNX export and how training went."""

    module: SequenceAutoencoder
    onnx_model: bytes
    #: each feature's centre and scale (2 x C): the standardisation scoring applies
    scaling: npt.NDArray[np.float32]
    epochs: int
    train_loss: float
    valid_loss: float


def train_autoencoder(
    train: F32,
    valid: F32,
    config: AutoencoderConfig,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> TrainedAutoencoder:
    """Fit on normal windows, stop early on validation error and export to ONNX."""
    if len(train) == 0 or len(valid) == 0:
        raise ValueError("the autoencoder needs training and validation windows")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    module = SequenceAutoencoder(train.shape[2], config)
    module.fit_scaling(train)
    optimiser = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
    with torch.no_grad():
        train_t = module.standardise(torch.from_numpy(train))
        valid_t = module.standardise(torch.from_numpy(valid))
    best, best_state, stale, epochs, train_loss = float("inf"), module.state_dict(), 0, 0, 0.0
    for epoch in range(1, config.max_epochs + 1):
        epochs = epoch
        module.train()
        total = 0.0
        for batch in np.array_split(
            rng.permutation(len(train)), max(1, len(train) // config.batch_size)
        ):
            optimiser.zero_grad()
            loss = module(train_t[batch]).mean()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        train_loss = total / len(train)
        valid_loss = _mean_error(module, valid_t)
        if on_epoch is not None:
            on_epoch(epoch, train_loss, valid_loss)
        if valid_loss < best * (1 - MIN_IMPROVEMENT):
            best, stale = valid_loss, 0
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    module.load_state_dict(best_state)
    module.eval()
    scaling = torch.stack([module.center, module.scale]).numpy().astype(np.float32)
    example = train_t[:8].numpy()
    return TrainedAutoencoder(
        module, export_onnx(module, example), scaling, epochs, train_loss, best
    )


def _mean_error(module: SequenceAutoencoder, windows: torch.Tensor) -> float:
    module.eval()
    with torch.no_grad():
        return float(torch.cat([module(part) for part in torch.split(windows, 4096)]).mean())


def export_onnx(module: SequenceAutoencoder, example: F32) -> bytes:
    """The module as an ONNX graph with a variable batch size."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        path = Path(tmp) / "autoencoder.onnx"
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.from_numpy(example),),
            path,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "rows"}, OUTPUT_NAME: {0: "rows"}},
            opset_version=17,
            dynamo=False,
        )
        return path.read_bytes()


def torch_feature_errors(module: SequenceAutoencoder, windows: F32) -> F32:
    """The module's own per-feature errors of raw windows (for checking the ONNX export)."""
    module.eval()
    with torch.no_grad():
        out: F32 = module(module.standardise(torch.from_numpy(windows))).numpy()
    return out
