"""The fast store contract: MemoryStore and RedisStore behave the same (STYLE rule 8)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from core.fast import FastStore, MemoryStore, RedisStore, make_store
from tests.conftest import REDIS_URL, need
from tests.support.contracts import assert_implements

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services),
                        "dead-redis"])
def store(request: pytest.FixtureRequest) -> Iterator[FastStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "redis":
        need("redis", bool(REDIS_URL))
        real = RedisStore(REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")  # type: ignore[arg-type]
        yield real
        keys = real.client.keys(real.prefix + "*")
        if keys:
            real.client.delete(*keys)
    else:
        yield RedisStore(DEAD_REDIS)


@pytest.mark.parametrize("implementation", [MemoryStore, RedisStore])
def test_every_store_implements_the_interface(implementation: type[FastStore]) -> None:
    assert_implements(FastStore, implementation)


def test_get_set_delete_round_trip(store):
    assert store.get("a") is None
    store.set("a", b"\x00\xff", 10)
    assert store.get("a") == b"\x00\xff"
    store.set("a", b"2", 10)
    assert store.get("a") == b"2"
    store.delete("a")
    assert store.get("a") is None
    store.delete("never-set")


def test_add_is_true_only_the_first_time(store):
    assert store.add("jti-1", 10) is True
    assert store.add("jti-1", 10) is False
    assert store.add("jti-2", 10) is True


def test_incr_counts_from_one(store):
    assert [store.incr("c", 10) for _ in range(3)] == [1, 2, 3]
    assert store.incr("other", 10) == 1


def test_entries_expire(store):
    store.set("short", b"x", 0.2)
    assert store.add("once", 0.2)
    store.incr("cnt", 1)
    time.sleep(1.15)
    assert store.get("short") is None
    assert store.add("once", 10) is True
    assert store.incr("cnt", 1) == 1


def test_a_store_is_healthy_unless_redis_is_down(store, request):
    assert store.healthy() is (request.node.callspec.params["store"] != "dead-redis")


def test_a_dead_redis_falls_back_quickly_and_reports_unhealthy():
    dead = RedisStore(DEAD_REDIS)
    started = time.monotonic()
    for i in range(50):
        assert dead.add(f"k{i}", 10) is True
    assert time.monotonic() - started < 2.0  # the circuit breaker skips Redis after one error
    assert dead.healthy() is False


@pytest.mark.services
def test_a_recovered_redis_is_used_again(redis_url, monkeypatch):
    store = RedisStore(redis_url, prefix=f"test:{uuid.uuid4().hex}:")
    store._down_until = time.monotonic() + 0.1  # as if it had just failed
    store.set("k", b"fallback", 10)
    assert store.fallback.get("k") == b"fallback"
    time.sleep(0.15)
    store.set("k", b"redis", 10)
    assert store.client.get(store.prefix + "k") == b"redis"
    store.client.delete(store.prefix + "k")


def test_make_store_picks_memory_without_a_url():
    assert isinstance(make_store(None), MemoryStore)
    assert isinstance(make_store(DEAD_REDIS), RedisStore)


def test_the_memory_store_stays_bounded():
    small = MemoryStore(max_entries=10)
    for i in range(100):
        small.set(f"k{i}", b"v", 60)
        small.add(f"a{i}", 60)
    assert len(small._data) <= 11
