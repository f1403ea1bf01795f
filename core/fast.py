"""The fast store: Redis when configured, an in-process fallback otherwise or when Redis fails.

Nothing correct depends on it (DESIGN §2 principle 6): it caches and pre-checks replays (rate
limits count in app/ratelimit.py). PostgreSQL stays the guarantee, so a missed pre-check only
costs a database round trip. When Redis errors, calls fall back to the in-process store and
Redis is retried after a short pause, so an outage costs speed, not answers.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class FastStore(ABC):
    """Keys are strings, values bytes; every entry has a time to live."""

    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def set(self, key: str, value: bytes, ttl: float) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def add(self, key: str, ttl: float) -> bool:
        """Set `key` if absent; True the first time (a replay pre-check)."""

    @abstractmethod
    def incr(self, key: str, ttl: float) -> int:
        """Increment a counter that expires `ttl` seconds after its first increment."""

    def healthy(self) -> bool:
        """False when the backing service is unreachable (calls then use a fallback)."""
        return True


class MemoryStore(FastStore):
    """Per-process dictionary with expiry; bounded by periodic sweeps."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def _live(self, key: str, now: float) -> tuple[float, bytes] | None:
        item = self._data.get(key)
        if item and item[0] <= now:
            del self._data[key]
            return None
        return item

    def _sweep(self, now: float) -> None:
        if len(self._data) >= self._max:
            for k in [k for k, (exp, _) in self._data.items() if exp <= now]:
                del self._data[k]
            while len(self._data) >= self._max:
                self._data.pop(next(iter(self._data)))

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key, time.monotonic())
            return item[1] if item else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            self._data[key] = (now + ttl, value)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def add(self, key: str, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._live(key, now):
                return False
            self._sweep(now)
            self._data[key] = (now + ttl, b"1")
            return True

    def incr(self, key: str, ttl: float) -> int:
        now = time.monotonic()
        with self._lock:
            item = self._live(key, now)
            count = int(item[1]) + 1 if item else 1
            self._data[key] = (item[0] if item else now + ttl, str(count).encode())
            return count


class RedisStore(FastStore):
    """Redis with a circuit breaker onto a `MemoryStore`."""

    RETRY_AFTER = 2.0

    def __init__(self, url: str, prefix: str = "pc:") -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url, socket_timeout=0.25, socket_connect_timeout=0.25, health_check_interval=10
        )
        self.prefix = prefix
        self.fallback = MemoryStore()
        self._down_until = 0.0

    def _call(self, fn: Callable[[], Any], fallback: Callable[[], T]) -> T:
        if time.monotonic() < self._down_until:
            return fallback()
        try:
            return fn()
        except self._errors as exc:
            if self._down_until == 0.0 or time.monotonic() >= self._down_until:
                log.warning("redis unavailable, using in-process fallback: %s", exc)
            self._down_until = time.monotonic() + self.RETRY_AFTER
            return fallback()

    def healthy(self) -> bool:
        try:
            return bool(self.client.ping())
        except self._errors:
            return False

    def get(self, key: str) -> bytes | None:
        return self._call(lambda: self.client.get(self.prefix + key),
                          lambda: self.fallback.get(key))

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self._call(lambda: self.client.set(self.prefix + key, value, px=int(ttl * 1000)),
                   lambda: self.fallback.set(key, value, ttl))

    def delete(self, key: str) -> None:
        self.fallback.delete(key)
        self._call(lambda: self.client.delete(self.prefix + key), lambda: None)

    def add(self, key: str, ttl: float) -> bool:
        return bool(self._call(
            lambda: self.client.set(self.prefix + key, b"1", nx=True, px=int(ttl * 1000)),
            lambda: self.fallback.add(key, ttl),
        ))

    def incr(self, key: str, ttl: float) -> int:
        def redis_incr() -> int:
            pipe = self.client.pipeline()
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, max(1, int(ttl)), nx=True)
            return int(pipe.execute()[0])

        return int(self._call(redis_incr, lambda: self.fallback.incr(key, ttl)))


def make_store(url: str | None) -> FastStore:
    """A Redis store when `url` is set, an in-process one otherwise."""
    return RedisStore(url) if url else MemoryStore()

