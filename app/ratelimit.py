"""Rate limits: the `limits` library's fixed windows, on Redis or in-process.

Design overview
---------------
- One limiter per app (`RateLimits`, built by `make_limits` when the app starts and reached as
  `runtime().limiter`). A limit is a spec from the configuration: "count/seconds" (the
  documented form; "count" alone is per 60 s) or `limits`' own notation ("20 per minute").
- Fixed windows: a bucket's window starts at its first hit and lasts `seconds`; a hit over
  the limit is refused with 429 and `Retry-After` = the seconds left in the window.
- Redis shares the counts between processes. It is a speed-up, never a condition (DESIGN §2
  principle 6): when Redis errors, counting moves to an in-process `MemoryStorage` and Redis is
  tried again after `RETRY_AFTER` seconds, as `core.fast.RedisStore` does. During an outage each
  process limits on its own counts: looser by the number of processes, never absent.
- The client address is `request.remote_addr`. Werkzeug's `ProxyFix` (app/__init__.py) sets it
  from `X-Forwarded-For` only when `PENGCHENG_TRUSTED_PROXIES` hops are configured; otherwise
  the header changes nothing. An IPv6 client counts by its /64 (one subscriber's prefix).
- Limits that must not become a lockout of others (`attempt`: sign-in, report verification)
  count per client address **and** per subject (the identity an assertion proves, the code
  asked about): a request refused for its subject does not count against its address, so a
  flood against one identity or code from an address leaves that address free for the others,
  and junk from one address (which proves no subject) locks out only that address. Subjects
  are stored as keyed digests (`Keyring.blind_index`): no identity or bearer code in Redis.
- A partner's wrong short one-time codes (`CodeMisses`, `RATE_LIMIT_CODE_MISSES`) count per
  partner, whichever code: brute force by one partner, which only its own residents' live codes
  could reward, is slowed to the limit (odds in docs/security.md).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from flask import request
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from core.errors import RateLimited

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=128)
def limit_of(spec: str) -> RateLimitItem:
    """The limit a configuration spec names: "count/seconds", "count", or "20 per minute"."""
    count, sep, seconds = str(spec).strip().partition("/")
    if count.strip().isdigit() and (not sep or seconds.strip().isdigit()):
        return RateLimitItemPerSecond(int(count), int(seconds or 60))
    return parse(str(spec))


class RateLimits:
    """Fixed-window counting on one `limits` storage: `hit` counts, `test` only looks.

    Both answer the seconds to wait: 0 when allowed."""

    def __init__(self, storage: Storage | None = None):
        self.storage = storage if storage is not None else MemoryStorage()
        self._windows = FixedWindowRateLimiter(self.storage)

    def _run(self, fn: Callable[[FixedWindowRateLimiter], T]) -> T:
        return fn(self._windows)

    def hit(self, spec: str, *key: str) -> int:
        """Count one request in bucket `key`; 0 if within `spec`, else the seconds to wait."""
        item = limit_of(spec)
        if self._run(lambda w: w.hit(item, *key)):
            return 0
        return self._wait(item, key)

    def test(self, spec: str, *key: str) -> int:
        """Without counting: 0 if one more request would be within `spec`, else the wait."""
        item = limit_of(spec)
        if self._run(lambda w: w.test(item, *key)):
            return 0
        return self._wait(item, key)

    def _wait(self, item: RateLimitItem, key: tuple[str, ...]) -> int:
        reset = self._run(lambda w: w.get_window_stats(item, *key)).reset_time
        return max(1, math.ceil(reset - time.time()))


class RedisRateLimits(RateLimits):
    """Counts in Redis, with a circuit breaker onto an in-process `MemoryStorage`."""

    RETRY_AFTER = 2.0

    def __init__(self, url: str, prefix: str = "pc:rl"):
        super().__init__(RedisStorage(url, key_prefix=prefix, socket_timeout=0.25,
                                      socket_connect_timeout=0.25))
        self.fallback = FixedWindowRateLimiter(MemoryStorage())
        base = self.storage.base_exceptions
        self._errors: tuple[type[BaseException], ...] = (
            (*base, OSError) if isinstance(base, tuple) else (base, OSError))
        self._down_until = 0.0

    def _run(self, fn: Callable[[FixedWindowRateLimiter], T]) -> T:
        if time.monotonic() < self._down_until:
            return fn(self.fallback)
        try:
            return fn(self._windows)
        except self._errors as exc:
            if self._down_until == 0.0 or time.monotonic() >= self._down_until:
                log.warning("redis unavailable, rate limits counted in-process: %s", exc)
            self._down_until = time.monotonic() + self.RETRY_AFTER
            return fn(self.fallback)


class CodeMisses:
    """`rewards.token_format.CodeMisses` on the app's limiter: `spec` wrong codes per partner per
    window; the next code, right or wrong, waits for the window's end."""

    def __init__(self, limits: RateLimits, spec: str):
        self.limits, self.spec = limits, spec

    def wait(self, partner_id: uuid.UUID) -> int:
        return self.limits.test(self.spec, "code-miss", str(partner_id))

    def missed(self, partner_id: uuid.UUID) -> None:
        self.limits.hit(self.spec, "code-miss", str(partner_id))


def make_limits(url: str | None) -> RateLimits:
    """Redis-backed limits when `url` is set, in-process ones otherwise."""
    return RedisRateLimits(url) if url else RateLimits()


# -- in a request ----------------------------------------------------------------------------

def _services() -> Runtime:
    from app.runtime import runtime  # app.runtime builds its limiter from this module

    return runtime()


def _refused(wait: int) -> RateLimited:
    return RateLimited(f"too many requests; retry in {wait} s",
                       detail_zh="请求过于频繁，请稍后再试", retry_after=wait)


def client_address() -> str:
    """The client's address as counted: what trusted proxies say, an IPv6 client by its /64."""
    raw = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def enforce(bucket: str, spec: str) -> None:
    """Refuse with 429 and Retry-After when `bucket` exceeds `spec` ("count/seconds")."""
    wait = _services().limiter.hit(spec, bucket)
    if wait:
        raise _refused(wait)


class Attempt:
    """One request limited per client address and per the subject it names (see `attempt`)."""

    def __init__(self, name: str, address: str, by_address: str, by_subject: str):
        self._services = _services()
        self.name, self.address = name, address
        self.by_address, self.by_subject = by_address, by_subject
        self.settled = False

    def refuse_if_address_spent(self) -> None:
        wait = self._services.limiter.test(self.by_address, self.name, "addr", self.address)
        if wait:
            raise _refused(wait)

    def subject(self, value: str) -> None:
        """Count against `value` (refused: the address is not charged), then the address."""
        self.settled = True
        digest = self._services.keyring.blind_index(f"rate-limit|{self.name}|{value}")
        wait = self._services.limiter.hit(self.by_subject, self.name, "subj", digest)
        if wait:
            raise _refused(wait)
        self.charge_address()

    def charge_address(self) -> None:
        self.settled = True
        self._services.limiter.hit(self.by_address, self.name, "addr", self.address)


@contextmanager
def attempt(name: str, *, by_address: str, by_subject: str) -> Iterator[Attempt]:
    """Limit the request inside per client address and per subject (configuration keys).

    Refused at once when the address has spent its limit. Inside, call `subject(...)` once the
    subject is known (an identity after its signature checks, a report code): over the
    subject's limit is refused without charging the address. A request that names no subject
    (junk, an exception) is charged to the address alone."""
    config = _services().settings
    tried = Attempt(name, client_address(), config[by_address], config[by_subject])
    tried.refuse_if_address_spent()
    try:
        yield tried
    finally:
        if not tried.settled:
            tried.charge_address()
