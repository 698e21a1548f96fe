"""Training the recurrent LSTM autoencoder in PyTorch and exporting it to ONNX.

Only training imports torch; scoring runs the exported graph with ONNX Runtime
(`tapewatch.detect.anomaly`). The encoder is an LSTM over each key's events; at every
event its state is squeezed to a small code from which a decoder reconstructs the event.
What the state remembers of the key's history tells the decoder what to expect, so an
event that is ordinary on its own but unusual for its key's recent flow reconstructs
badly. Training runs on sequences of `window` events; each sequence is preceded by up to
`window` earlier events of its key that only warm the state up, so the network learns to
read a state that has a history behind it, as at scoring time.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import torch
from torch import nn

from tapewatch.detect.anomaly import CLIP, INPUTS, OUTPUTS, AutoencoderConfig

F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]
#: a validation error must fall by this share to count as progress for early stopping
MIN_IMPROVEMENT = 3e-3
#: width of the decoder's hidden layer
DECODER_WIDTH = 32


def signed_log(values: torch.Tensor) -> torch.Tensor:
    """sign(x) * log(1 + |x|): tames counts and ratios with heavy tails."""
    return torch.sign(values) * torch.log1p(torch.abs(values))


class RecurrentAutoencoder(nn.Module):
    """LSTM encoder state -> code -> decoder back to the event; time-major tensors."""

    center: torch.Tensor
    scale: torch.Tensor

    def __init__(self, n_features: int, config: AutoencoderConfig) -> None:
        super().__init__()
        self.register_buffer("center", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.encoder = nn.LSTM(n_features, config.hidden)
        self.decoder = nn.Sequential(
            nn.Linear(config.hidden, config.bottleneck),
            nn.Linear(config.bottleneck, DECODER_WIDTH),
            nn.Tanh(),
            nn.Linear(DECODER_WIDTH, n_features),
        )

    def fit_scaling(self, rows: F32) -> None:
        """Centre and scale of each feature's signed log."""
        logged = signed_log(torch.from_numpy(rows))
        center = torch.nanmean(logged, dim=0)
        spread = torch.sqrt(torch.nanmean((logged - center) ** 2, dim=0))
        self.center.copy_(torch.nan_to_num(center, nan=0.0))
        self.scale.copy_(torch.where(torch.isfinite(spread) & (spread > 1e-6), spread, 1.0))

    def standardise(self, rows: torch.Tensor) -> torch.Tensor:
        """Scaled inputs, a missing value read as 0 (the feature's centre); scoring does the
        same outside the graph (`AnomalyDetector.standardise`)."""
        x = (signed_log(rows) - self.center) / self.scale
        return torch.where(torch.isnan(x), torch.zeros_like(x), x)

    def sequence_errors(self, x: torch.Tensor) -> torch.Tensor:
        """Squared error per step and feature (T x n x C) of standardised sequences that
        start from an empty state."""
        x = torch.clamp(x, -CLIP, CLIP)
        states, _ = self.encoder(x)
        errors: torch.Tensor = (self.decoder(states) - x) ** 2
        return errors

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The scoring graph: errors of the events at flat `positions` of padded segments,
        and the end states (the export adds the segments' lengths)."""
        x = torch.clamp(x, -CLIP, CLIP)
        states, (h1, c1) = self.encoder(x, (h0, c0))
        at = states.reshape(-1, states.shape[-1]).index_select(0, positions)
        real = x.reshape(-1, x.shape[-1]).index_select(0, positions)
        return (self.decoder(at) - real) ** 2, h1, c1


@dataclass(frozen=True)
class TrainedAutoencoder:
    """The fitted module, its ONNX export and how training went."""

    module: RecurrentAutoencoder
    onnx_model: bytes
    #: each feature's centre and scale (2 x C): the standardisation scoring applies
    scaling: npt.NDArray[np.float32]
    epochs: int
    train_loss: float
    valid_loss: float


@dataclass(frozen=True)
class Sequences:
    """Training sequences of feature rows (n x L x C, NaN padded) and which steps count."""

    rows: F32
    #: steps whose error trains the network (n x L)
    train: B
    #: steps whose error stops training early (n x L)
    valid: B


def train_autoencoder(
    sequences: Sequences,
    config: AutoencoderConfig,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> TrainedAutoencoder:
    """Fit on the training steps, stop early on the validation steps, export to ONNX."""
    if not sequences.train.any() or not sequences.valid.any():
        raise ValueError("the autoencoder needs training and validation events")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    module = RecurrentAutoencoder(sequences.rows.shape[2], config)
    module.fit_scaling(sequences.rows[sequences.train])
    optimiser = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
    with torch.no_grad():
        x = module.standardise(torch.from_numpy(sequences.rows)).transpose(0, 1).contiguous()
    train_mask = torch.from_numpy(sequences.train).T.contiguous()
    valid_mask = torch.from_numpy(sequences.valid).T.contiguous()
    usable = np.flatnonzero(sequences.train.any(axis=1))
    best, best_state, stale, epochs, train_loss = float("inf"), module.state_dict(), 0, 0, 0.0
    for epoch in range(1, config.max_epochs + 1):
        epochs = epoch
        module.train()
        total, count = 0.0, 0
        for batch in np.array_split(
            rng.permutation(usable), max(1, len(usable) // config.batch_size)
        ):
            index = torch.from_numpy(batch)
            optimiser.zero_grad()
            errors = module.sequence_errors(x[:, index]).mean(dim=2)
            mask = train_mask[:, index]
            loss = errors[mask].mean()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            total += loss.item() * int(mask.sum())
            count += int(mask.sum())
        train_loss = total / max(count, 1)
        valid_loss = _mean_error(module, x, valid_mask)
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
    return TrainedAutoencoder(module, export_onnx(module), scaling, epochs, train_loss, best)


def _mean_error(module: RecurrentAutoencoder, x: torch.Tensor, mask: torch.Tensor) -> float:
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for index in torch.split(torch.arange(x.shape[1]), 2048):
            errors = module.sequence_errors(x[:, index]).mean(dim=2)[mask[:, index]]
            total += float(errors.sum())
            count += len(errors)
    return total / max(count, 1)


def export_onnx(module: RecurrentAutoencoder) -> bytes:
    """The scoring graph, with the segments' lengths wired into the LSTM so each
    segment's end state is taken at its own last event."""
    n_features = module.center.shape[0]
    hidden = module.encoder.hidden_size
    example = (
        torch.zeros(3, 2, n_features),
        torch.zeros(1, 2, hidden),
        torch.zeros(1, 2, hidden),
        torch.tensor([0, 1, 2, 4], dtype=torch.int64),
    )
    segments, h0, c0, lengths, positions = INPUTS
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        path = Path(tmp) / "autoencoder.onnx"
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            example,
            path,
            input_names=[segments, h0, c0, positions],
            output_names=list(OUTPUTS),
            dynamic_axes={
                segments: {0: "steps", 1: "segments"},
                h0: {1: "segments"},
                c0: {1: "segments"},
                positions: {0: "events"},
                OUTPUTS[0]: {0: "events"},
                OUTPUTS[1]: {1: "segments"},
                OUTPUTS[2]: {1: "segments"},
            },
            opset_version=17,
            dynamo=False,
        )
        graph = onnx.load(path)
    (lstm,) = [node for node in graph.graph.node if node.op_type == "LSTM"]
    graph.graph.input.append(
        onnx.helper.make_tensor_value_info(lengths, onnx.TensorProto.INT32, ["segments"])
    )
    inputs = list(lstm.input) + [""] * (5 - len(lstm.input))
    inputs[4] = lengths  # the LSTM's sequence_lens
    del lstm.input[:]
    lstm.input.extend(inputs)
    onnx.checker.check_model(graph)
    return bytes(graph.SerializeToString())


def torch_errors(
    module: RecurrentAutoencoder, rows: F32, h0: F32 | None = None, c0: F32 | None = None
) -> tuple[F32, F32, F32]:
    """The module's own errors (T x C) of one key's raw feature rows, and its end state
    (for checking the ONNX export)."""
    module.eval()
    hidden = module.encoder.hidden_size
    h = torch.zeros(1, 1, hidden) if h0 is None else torch.from_numpy(h0).reshape(1, 1, -1)
    c = torch.zeros(1, 1, hidden) if c0 is None else torch.from_numpy(c0).reshape(1, 1, -1)
    with torch.no_grad():
        x = module.standardise(torch.from_numpy(rows)).unsqueeze(1)
        positions = torch.arange(len(rows))
        errors, h1, c1 = module(x, h, c, positions)
    return errors.numpy(), h1.reshape(-1).numpy(), c1.reshape(-1).numpy()
