"""Rate limits on the fast store (Redis, or in-process when Redis is absent or down)."""

from __future__ import annotations

from app.extensions import services
from core.errors import RateLimited


def enforce(bucket: str, spec: str) -> None:
    """Refuse with 429 and Retry-After when `bucket` exceeds `spec` ("count/seconds")."""
    count, _, seconds = spec.partition("/")
    wait = services.limiter.hit(bucket, int(count), int(seconds or 60))
    if wait:
        raise RateLimited(f"too many requests; retry in {wait} s",
                          detail_zh="请求过于频繁，请稍后再试", retry_after=wait)
