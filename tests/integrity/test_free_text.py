"""Issue 20, item 6: free text is personal data.

SQL errors: an IntegrityError raised by the application's engine, logged by the error handler
as any unexpected database error is, carries no bound parameter value in its log line (the
engine is made with `hide_parameters=True`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import errors
from app.runtime import runtime

SECRET = "我在2026年5月住院, 病历号 ZY-4471-SECRET"


def test_an_integrity_error_is_logged_without_its_bound_parameters(
        app: Any, caplog: pytest.LogCaptureFixture) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    with app.app_context(), app.test_request_context("/"), caplog.at_level(logging.INFO):
        try:
            with runtime().engine.begin() as connection:
                # A dispute for a resident and a record that do not exist: a foreign-key
                # violation, handled (and logged, with its traceback) as the app handles it.
                connection.execute(text(
                    "INSERT INTO disputes (id, resident_id, record_id, reason, status,"
                    " opened_at, due_at) VALUES (:id, :resident, :record, :reason, 'open',"
                    " :now, :now)"),
                    {"id": uuid.uuid4(), "resident": uuid.uuid4(), "record": uuid.uuid4(),
                     "reason": SECRET, "now": now})
        except IntegrityError as error:
            raised = error
            response = errors.handle_database(error)
        else:
            pytest.fail("the insert should have violated a foreign key")
    assert response.status_code == 500
    assert "IntegrityError" in caplog.text  # logged, with its traceback
    assert "ZY-4471" not in caplog.text
    assert "ZY-4471" not in str(raised)
