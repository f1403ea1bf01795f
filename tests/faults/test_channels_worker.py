"""`pengcheng worker` sends resident messages on its own: a worker process configured with an
SMS gateway (a receiver thread on 127.0.0.1) sends a queued message at its first tick, with the
gateway key and the message id, and marks it sent. The worker runs on the real clock, so in
quiet hours (22:00-08:00 Asia/Shanghai) the same test checks the other promise: nothing is
sent and the message waits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from app.runtime import runtime
from core.identity import Person, create_resident
from core.notifications import notify
from events.channels import ChannelMessage, quiet
from tests.support.factories import T0, id_number
from tests.support.webhooks import WorkerProcess, until

pytestmark = [pytest.mark.services, pytest.mark.commits]

PHONE = "13500001234"


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]]:
    seen: list[tuple[dict[str, str], dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send", seen
    server.shutdown()
    server.server_close()


def _status(app: Any) -> str:
    with app.app_context(), runtime().uow() as uow:
        return str(uow.session.scalars(select(ChannelMessage.status)).one())


def _ticked(app: Any) -> bool:
    """Whether the worker's `channels.send` tick was deferred and has run (a finished job is
    deleted; a failed one stays)."""
    with app.app_context(), runtime().engine.connect() as conn:
        return bool(conn.scalar(text(
            "SELECT EXISTS (SELECT 1 FROM procrastinate_periodic_defers "
            "WHERE periodic_id = 'channels.send') AND NOT EXISTS (SELECT 1 FROM "
            "procrastinate_jobs WHERE task_name = 'channels.send')")))


def test_the_worker_sends_a_queued_message_through_the_gateway(app, config, tmp_path: Path,
                                                                gateway):
    url, seen = gateway
    with app.app_context(), runtime().uow() as uow:
        resident = create_resident(uow.session, runtime().keyring,
                                   Person("孙八", id_number(97), PHONE), now=T0)
        uow.session.flush()
        notify(uow.session, resident_id=resident.id, kind="dispute_resolved",
               dedupe_key="d-1", title=("t", "t"), body=("b", "b"), now=T0,
               data={"outcome": "removed"})
        uow.commit()
    start = datetime.now(UTC)
    if quiet(start) != quiet(start + timedelta(seconds=30)):
        pytest.skip("quiet hours begin or end within the test")
    worker = WorkerProcess(config, tmp_path / "w1", "--queue", "jobs")
    worker.env.update(PENGCHENG_CHANNEL="sms", PENGCHENG_SMS_GATEWAY_URL=url,
                      PENGCHENG_SMS_GATEWAY_KEY="gw-key")
    worker.start()
    try:
        if quiet(start):
            until(lambda: _ticked(app), 30, "the worker's channels.send never ran")
            assert seen == [] and _status(app) == "queued"
            return
        until(lambda: _status(app) == "sent", 30, "the message was never sent")
    finally:
        worker.stop()
    [(headers, body)] = seen
    assert headers["Authorization"] == "Bearer gw-key"
    assert headers["Idempotency-Key"] == body["message_id"]
    assert body["to"] == PHONE and "异议已处理" in body["text"]
    assert PHONE not in worker.log.read_text()
