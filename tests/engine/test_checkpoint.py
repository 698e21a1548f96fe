"""Checkpoint files: written atomically, the state streamed in after the checkpoint."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import BinaryIO

import pytest

from tapewatch.engine.checkpoint import Checkpoint, CheckpointStore

STATE = bytes(range(256)) * 1000


def _checkpoint(state: bytes) -> Checkpoint:
    return Checkpoint("v1", "file://day.parquet", state, {"file": "42"}, 3, {"events": 42})


def test_a_state_written_into_the_file_comes_back_as_the_checkpoint_s_bytes(
    tmp_path: Path,
) -> None:
    store = CheckpointStore(tmp_path / "ckpt")
    assert store.load() is None

    def write_state(sink: BinaryIO) -> None:
        sink.write(STATE[:100])
        sink.write(STATE[100:])

    store.save(_checkpoint(b""), write_state)
    assert store.load() == _checkpoint(STATE)
    store.save(_checkpoint(b"held in the checkpoint"))  # the state as bytes still works
    assert store.load() == _checkpoint(b"held in the checkpoint")
    assert not (tmp_path / "ckpt" / "checkpoint.tmp").exists()


def test_a_checkpoint_of_another_format_is_refused(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.path.write_bytes(pickle.dumps((1, _checkpoint(STATE))))
    with pytest.raises(ValueError, match="checkpoint format 1, expected 2"):
        store.load()
