"""PostgreSQL restarted under load: requests during the outage get 503 problem+json with
Retry-After (never a 500), nothing is corrupted, and the service resumes by itself."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.faults.conftest import Arranged, PrivatePostgres, call, pengcheng

pytestmark = pytest.mark.services


def _load(arranged: Arranged, until: float, out: list[tuple[float, str, int, Any, Any]]) -> None:
    port, key = arranged.server.port, arranged.hospital["api_key"]
    while time.monotonic() < until:
        status, headers, body = call(port, "GET", "/api/v1/me/score", token=arranged.session)
        out.append((time.monotonic(), "score", status, headers, body))
        status, headers, body = call(port, "POST", "/api/v1/me/tokens", {
            "scenario": "medical_credit", "partner": arranged.hospital["client_id"]},
            arranged.session)
        out.append((time.monotonic(), "token", status, headers, body))
        if status == 201:
            status, headers, answer = call(port, "POST", "/partner/v1/tokens/introspect",
                                           {"token": body["token"]}, key)
            out.append((time.monotonic(), "introspect", status, headers, answer))
        time.sleep(0.02)


def test_a_postgres_restart_gives_503_with_retry_after_then_the_service_heals(
        arranged: Arranged, private_pg: PrivatePostgres) -> None:
    out: list[tuple[float, str, int, Any, Any]] = []
    started = time.monotonic()
    threads = [threading.Thread(target=_load, args=(arranged, started + 14, out))
               for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(3)
    private_pg.stop("immediate")  # a crash, not a polite shutdown
    time.sleep(3)
    private_pg.start()
    back = time.monotonic()
    for t in threads:
        t.join(timeout=60)

    assert not [r for r in out if r[2] >= 500 and r[2] != 503], "an error other than 503"
    outage = [r for r in out if r[2] == 503]
    assert outage, "no request saw the outage"
    for _, _, _, headers, body in outage:
        assert headers["content-type"].startswith("application/problem+json")
        assert body["code"] == "database_unavailable"
        assert int(headers["retry-after"]) >= 1
    healed = [r for r in out if r[0] > back + 2]
    assert healed and all(r[2] in (200, 201) for r in healed), \
        sorted({(r[1], r[2]) for r in healed})

    # Nothing corrupted: the audit chain verifies and the score still reads.
    verdict = pengcheng(arranged.env, "audit", "verify")
    assert verdict.get("ok") is True, verdict
    assert call(arranged.server.port, "GET", "/api/v1/me/score",
                token=arranged.session)[0] == 200
