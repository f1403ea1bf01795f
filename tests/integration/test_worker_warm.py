"""A new server worker is warmed before it takes requests (`Runtime.warm`, called by
gunicorn.conf.py's `post_worker_init`): its first requests must not each pay for a new
PostgreSQL backend, the ORM's configuration and the model's parse (100-250 ms each, issue 26's
tail latency). A database that is down must not stop the worker from starting."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from sqlalchemy import event

from core.db import make_engine
from scoring import services
from tests.support.consent import grant_scoring
from tests.support.factories import bearer, login


def test_warm_opens_every_pooled_connection_and_parses_the_active_model(app: Any, client: Any,
                                                                          idp: Any) -> None:
    rt = app.extensions["pengcheng"]
    rt.engine.dispose()
    services._models.clear()
    opened: list[object] = []
    event.listen(rt.engine, "connect", lambda *_: opened.append(1))

    with app.app_context():
        rt.warm()

    pool = rt.engine.pool
    assert len(opened) == pool.size() and pool.checkedin() == pool.size()
    assert len(services._models) == 1  # the active model, parsed once
    # A request now finds its connection open: nothing more is connected.
    session = login(client, idp)
    grant_scoring(client, session)
    assert client.get("/api/v1/me/score", headers=bearer(session)).status_code == 200
    assert len(opened) == pool.size()


def test_a_database_that_is_down_fails_no_worker(app: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    rt = app.extensions["pengcheng"]
    down = make_engine("postgresql://postgres@127.0.0.1:1/nothing", pool_size=2,
                       connect_args={"connect_timeout": 1})
    cold = dataclasses.replace(rt, engine=down)
    try:
        with app.app_context(), caplog.at_level(logging.WARNING, logger="app.runtime"):
            cold.warm()  # no exception
    finally:
        down.dispose()
    assert "warm-up incomplete" in caplog.text
