"""The rate-limit contract: in-process, Redis and a dead Redis count the same (STYLE rule 8)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from app.ratelimit import RateLimits, RedisRateLimits, limit_of, make_limits
from tests.conftest import REDIS_URL, need
from tests.support.contracts import assert_implements

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services),
                        "dead-redis"])
def limits(request: pytest.FixtureRequest) -> Iterator[RateLimits]:
    if request.param == "memory":
        yield RateLimits()
    elif request.param == "redis":
        need("redis", bool(REDIS_URL))
        prefix = f"test:{uuid.uuid4().hex}"
        real = RedisRateLimits(REDIS_URL, prefix=prefix)  # type: ignore[arg-type]
        yield real
        client = real.storage.storage  # type: ignore[attr-defined]
        keys = client.keys(prefix + "*")
        if keys:
            client.delete(*keys)
    else:
        yield RedisRateLimits(DEAD_REDIS)


def test_redis_counting_implements_the_interface() -> None:
    assert_implements(RateLimits, RedisRateLimits)


def _bucket() -> str:
    return uuid.uuid4().hex


def test_the_limit_is_allowed_then_each_hit_answers_a_wait(limits):
    bucket = _bucket()
    waits = [limits.hit("3/60", "login", bucket) for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert all(1 <= w <= 60 for w in waits[3:])


def test_looking_does_not_count(limits):
    bucket = _bucket()
    assert [limits.test("2/60", bucket) for _ in range(5)] == [0] * 5
    assert limits.hit("2/60", bucket) == 0
    assert limits.test("2/60", bucket) == 0
    assert limits.hit("2/60", bucket) == 0
    assert 1 <= limits.test("2/60", bucket) <= 60


def test_buckets_and_limits_are_counted_apart(limits):
    a, b = _bucket(), _bucket()
    assert limits.hit("1/60", "addr", a) == 0
    assert limits.hit("1/60", "addr", a) > 0
    assert limits.hit("1/60", "addr", b) == 0
    assert limits.hit("1/60", "subj", a) == 0  # the same value in another family
    assert limits.hit("5/60", "addr", a) == 0  # another limit on the same bucket


def test_a_window_ends(limits):
    bucket = _bucket()
    assert limits.hit("1/1", bucket) == 0
    assert limits.hit("1/1", bucket) == 1
    time.sleep(1.1)
    assert limits.hit("1/1", bucket) == 0


def test_a_dead_redis_still_limits_and_answers_quickly():
    dead = RedisRateLimits(DEAD_REDIS)
    started = time.monotonic()
    waits = [dead.hit("20/60", "login", "203.0.113.9") for _ in range(25)]
    assert waits[:20] == [0] * 20 and all(w > 0 for w in waits[20:])
    assert time.monotonic() - started < 2.0  # the circuit breaker skips Redis after one error


@pytest.mark.services
def test_a_recovered_redis_is_used_again(redis_url):
    prefix = f"test:{uuid.uuid4().hex}"
    limits = RedisRateLimits(redis_url, prefix=prefix)
    limits._down_until = time.monotonic() + 0.1  # as if it had just failed
    limits.hit("5/60", "b")
    client = limits.storage.storage  # type: ignore[attr-defined]
    assert client.keys(prefix + "*") == []
    time.sleep(0.15)
    limits.hit("5/60", "b")
    keys = client.keys(prefix + "*")
    assert len(keys) == 1
    client.delete(*keys)


def test_make_limits_picks_in_process_counting_without_a_url():
    assert type(make_limits(None)) is RateLimits
    assert isinstance(make_limits(DEAD_REDIS), RedisRateLimits)


@pytest.mark.parametrize(("spec", "amount", "seconds"), [
    ("20/60", 20, 60), ("20", 20, 60), (" 5/3600 ", 5, 3600), ("10 per minute", 10, 60),
    ("100/hour", 100, 3600)])
def test_a_spec_names_a_count_per_seconds(spec, amount, seconds):
    item = limit_of(spec)
    assert (item.amount, item.get_expiry()) == (amount, seconds)


@pytest.mark.parametrize("spec", ["", "x/60", "20/", "20/x", "twenty per minute", "-1/60"])
def test_a_malformed_spec_is_refused(spec):
    with pytest.raises(ValueError):
        limit_of(spec)
