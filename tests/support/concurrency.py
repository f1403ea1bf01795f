"""Requests released at once, each on its own test client and thread (races through the API)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.support.factories import bearer


def together(app: Any, calls: list[Callable[[Any], Any]]) -> list[Any]:
    """Run each call with its own test client, all released at once; their responses."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        out[i] = calls[i](client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(r is not None for r in out), "a thread did not finish"
    return out


def post(url: str, key: str, body: dict) -> Callable[[Any], Any]:
    return lambda client: client.post(url, headers=bearer(key), json=body)
