"""Redis stopped in the middle of load: answers stay correct (slower is fine), and the service
goes back to Redis by itself when it returns."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis

from tests.faults.conftest import Arranged, PrivateRedis, call

pytestmark = __import__("pytest").mark.services


def _load(arranged: Arranged, until: float, out: list[tuple[float, str, int, Any]]) -> None:
    """Ask a token and introspect it, again and again: both must keep working."""
    key = arranged.hospital["api_key"]
    while time.monotonic() < until:
        status, body = arranged.token()
        out.append((time.monotonic(), "token", status, body))
        if status != 201:
            continue
        status, _, answer = call(arranged.server.port, "POST", "/partner/v1/tokens/introspect",
                                 {"token": body["token"]}, key)
        out.append((time.monotonic(), "introspect", status, answer))


def test_stopping_redis_mid_load_changes_no_answer_and_it_is_used_again_on_return(
        arranged: Arranged, private_redis: PrivateRedis) -> None:
    out: list[tuple[float, str, int, Any]] = []
    started = time.monotonic()
    threads = [threading.Thread(target=_load, args=(arranged, started + 9, out))
               for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(3)
    private_redis.stop()
    stopped = time.monotonic()
    time.sleep(3)
    private_redis.start()
    restarted = time.monotonic()
    for t in threads:
        t.join(timeout=60)

    during = [r for r in out if stopped + 0.5 < r[0] < restarted]
    assert during, "no request completed while Redis was down"
    assert all(status < 500 for _, _, status, _ in out), [r for r in out if r[2] >= 500][:3]
    assert all(status == 201 for _, kind, status, _ in out if kind == "token")
    answers = [body for _, kind, _, body in out if kind == "introspect"]
    assert answers and all(a["active"] is True for a in answers)

    # Back on Redis: the rate-limit counters and caches reappear there within a few seconds.
    client = redis.Redis.from_url(private_redis.url)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not client.dbsize():
        arranged.token()
        time.sleep(0.3)
    assert client.dbsize() > 0, "the service did not go back to Redis"
