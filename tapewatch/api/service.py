"""What the HTTP service holds: the store, the lake, the live scorer of the active model,
and the live figures."""

from __future__ import annotations

import hashlib
import secrets
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from cachetools import TTLCache

from tapewatch.engine.coalesce import CoalescingScorer
from tapewatch.engine.live import LiveResult, LiveScorer
from tapewatch.learn.registry import load_model
from tapewatch.monitor.live import StreamMetrics
from tapewatch.store.alerts import AlertStore
from tapewatch.store.lake import ScoredLake
from tapewatch.store.paths import DEFAULT_DB, DEFAULT_LAKE
from tapewatch.store.users import Principal, authenticate
from tapewatch.store.versions import VersionInfo, active_version, register_model


@dataclass(frozen=True)
class ServiceSettings:
    """Where the service's data lives and how it signs sessions."""

    db: str = str(DEFAULT_DB)
    lake: Path | None = DEFAULT_LAKE
    #: a model directory to register and use; None: the store's active version
    model_dir: Path | None = None
    #: the key that signs session cookies; None: read or make `session.key` beside the db
    session_secret: str | None = None
    session_max_age_s: int = 8 * 3600
    #: how long a verified API key is trusted without a store read: a key revoked elsewhere
    #: (`tapewatch users revoke`) stops working within this long
    key_cache_s: float = 5.0
    #: how long the active model version is trusted without a store read: a version
    #: activated elsewhere scores within this long; this process's own changes at once
    model_cache_s: float = 1.0


class NoModelError(RuntimeError):
    """No model is registered or given, so nothing can be scored."""


@dataclass
class Service:
    """The state one service process shares between requests."""

    settings: ServiceSettings
    store: AlertStore
    lake: ScoredLake | None
    metrics: StreamMetrics = field(default_factory=StreamMetrics)
    _scorer: LiveScorer | None = None
    _batcher: CoalescingScorer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _keys: TTLCache[str, Principal] = field(init=False)
    _active: TTLCache[str, VersionInfo | None] = field(init=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._keys = TTLCache(maxsize=10_000, ttl=self.settings.key_cache_s)
        self._active = TTLCache(maxsize=1, ttl=self.settings.model_cache_s)

    @classmethod
    def open(cls, settings: ServiceSettings) -> Service:
        """Open the store (migrating it) and register the given model, if any."""
        store = AlertStore(settings.db)
        if settings.model_dir is not None:
            bundle = load_model(settings.model_dir)
            register_model(
                store.engine,
                bundle.version,
                str(settings.model_dir.resolve()),
                bundle.config_hash,
                bundle.test_metrics,
            )
        lake = None if settings.lake is None else ScoredLake(settings.lake)
        return cls(settings, store, lake)

    @property
    def engine(self) -> sa.Engine:
        """The store's database engine."""
        return self.store.engine

    def model(self) -> VersionInfo | None:
        """The active model version (read from the store at most once a second)."""
        with self._cache_lock:
            if "active" in self._active:
                return self._active["active"]
        info = active_version(self.engine)
        with self._cache_lock:
            self._active["active"] = info
        return info

    def models_changed(self) -> None:
        """Forget the cached active version: this process just changed it."""
        with self._cache_lock:
            self._active.clear()

    def authenticate(self, key: str) -> Principal | None:
        """Who an API key belongs to (None: unknown or revoked); a verified key is trusted
        for `settings.key_cache_s` without reading the store again."""
        known = self.known_key(key)
        if known is not None:
            return known
        who = authenticate(self.engine, key)
        if who is not None:
            with self._cache_lock:
                self._keys[_digest(key)] = who
        return who

    def known_key(self, key: str) -> Principal | None:
        """Who an API key belongs to if it was verified within `settings.key_cache_s`
        (None: not verified lately; `authenticate` reads the store)."""
        with self._cache_lock:
            return self._keys.get(_digest(key))

    def scorer(self) -> LiveScorer:
        """The live scorer of the active model (built on first use and when the active
        version or its threshold changes)."""
        return self._live()[0]

    def _live(self) -> tuple[LiveScorer, CoalescingScorer]:
        """The active model's scorer and the batcher that feeds it (one store read)."""
        info = self.model()
        if info is None:
            raise NoModelError(
                "no model: start the service with --model, or score into this store first"
            )
        with self._lock:
            current, batcher = self._scorer, self._batcher
            if (
                current is None
                or batcher is None
                or current.version != info.version
                or current.threshold != info.threshold_override
            ):
                current = LiveScorer(
                    load_model(Path(info.path)), source="api", threshold=info.threshold_override
                )
                if batcher is not None:
                    batcher.close()
                    self._flush_open_alerts()
                batcher = CoalescingScorer(current)
                self._scorer, self._batcher = current, batcher
            return current, batcher

    def _flush_open_alerts(self) -> None:
        if self._scorer is not None:
            self.store.put(self._scorer.close_open_alerts())

    def prepare(self) -> None:
        """Load the active model's scorer now, if there is one, instead of on the first
        request."""
        if self.model() is not None:
            self._live()

    def threshold(self) -> float:
        """The alert threshold the active model scores known traders' events with."""
        bundle = self.scorer().bundle
        scoring = bundle.scoring
        if scoring.ensemble_threshold is not None and bundle.anomaly is not None:
            return scoring.ensemble_threshold
        return scoring.alert_threshold

    def submit(self, records: list[dict[str, object]], explain: str) -> Future[LiveResult]:
        """Queue events for the live scorer (`record` their result once it is done)."""
        return self._live()[1].submit(records, explain)

    def record(self, result: LiveResult) -> None:
        """Store the alerts a scored request closed and count it in the metrics."""
        stored = self.store.put(result.alerts) if result.closed else 0
        latency = np.full(len(result.verdicts), int(result.processing_ms * 1e6), dtype=np.int64)
        self.metrics.record_batch(
            latency,
            len(result.verdicts),
            len(result.rejected),
            stored,
            sum(v.flagged for v in result.verdicts),
        )

    def close(self) -> None:
        """Store the alerts still open and release the database."""
        if self._batcher is not None:
            self._batcher.close()
        self._flush_open_alerts()
        self.store.close()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def session_secret(settings: ServiceSettings) -> str:
    """The session-signing key: given, or kept in `session.key` beside a SQLite store
    (made once, readable by its owner only), or random for the life of the process."""
    if settings.session_secret:
        return settings.session_secret
    if "://" in settings.db:
        return secrets.token_urlsafe(32)
    path = Path(settings.db).resolve().with_name("session.key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()
