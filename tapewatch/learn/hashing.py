"""Content hashes for files and configuration objects."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_hash(*configs: Any) -> str:
    """Stable short hash of frozen configuration objects taken together."""
    payload = [
        {"type": type(c).__name__, **asdict(c)}
        if is_dataclass(c) and not isinstance(c, type)
        else c
        for c in configs
    ]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
