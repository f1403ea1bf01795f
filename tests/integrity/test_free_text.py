"""Issue 20, item 6: free text is personal data.

The attack: a resident explains a dispute, a repair and a review request in their own words
(an illness, a hospital file number), operators answer with notes; then someone reads the
database (a dump, a replica, a backup). Before this change every reason, statement and note
was there in plain, and erasure's crypto-shredding (destroying the resident's data key) left
them readable. Now `SELECT` on the tables shows only ciphertext, under the resident's data key:
once it is destroyed, nothing of that text can be read. The resident and operators still read
the text through the API.

SQL errors: an IntegrityError raised by the application's engine, logged by the error handler
as any unexpected database error is, carries no bound parameter value in its log line (the
engine is made with `hide_parameters=True`).
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app import errors
from app.bootstrap import bootstrap
from app.runtime import EXTENSION, Runtime, runtime
from core.crypto import CryptoError, DataKey
from core.identity import Resident
from rights.models import Dispute, Repair, ReviewRequest, seal_plain_free_text
from tests.support.disputes import Residents
from tests.support.factories import bearer

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


TABLES = ("disputes", "repairs", "review_requests")
WORDS = {"dispute_reason": "争议理由-MARK1 我当时在住院", "evidence": "证据-MARK2 出院小结",
         "statement": "修复声明-MARK3 已全部缴清", "review_reason": "复核理由-MARK4 收入证明",
         "dispute_note": "处理意见-MARK5", "repair_note": "修复意见-MARK6",
         "review_note": "复核意见-MARK7"}


def rt_of(app: Any) -> Runtime:
    rt: Runtime = app.extensions[EXTENSION]
    return rt


def assert_no_words(stored: str) -> None:
    for word in WORDS.values():
        head, mark = word.split("-")
        assert head not in stored and mark[:5] not in stored, word


def raw(app: Any) -> str:
    """Every row of the three tables, as PostgreSQL prints them."""
    with rt_of(app).engine.connect() as connection:
        return "\n".join(str(value) for table in TABLES for value in connection.execute(
            text(f"SELECT t::text FROM {table} t")).scalars())


def file_everything(people: Residents, client: Any) -> dict[str, str]:
    records = [r for r in people.records() if r["type"] != "admin_penalty"]
    dispute = people.dispute(records[0]["id"], reason=WORDS["dispute_reason"],
                             evidence=WORDS["evidence"])
    assert dispute.status_code == 201, dispute.get_json()
    repair = client.post("/api/v1/me/repairs", headers=bearer(people.a),
                         json={"record_id": people.record("admin_penalty", "2026-03-01")["id"],
                               "pledge": True, "statement": WORDS["statement"]})
    assert repair.status_code == 201, repair.get_json()
    review = client.post("/api/v1/me/review-requests", headers=bearer(people.a),
                         json={"subject": "score", "reason": WORDS["review_reason"]})
    assert review.status_code == 201, review.get_json()
    ids = {"dispute": dispute.get_json()["id"], "repair": repair.get_json()["id"],
           "review": review.get_json()["id"]}
    for path, body in ((f"/admin/v1/disputes/{ids['dispute']}/resolve",
                        {"outcome": "upheld", "note": WORDS["dispute_note"]}),
                       (f"/admin/v1/repairs/{ids['repair']}/decide",
                        {"decision": "reject", "note": WORDS["repair_note"]}),
                       (f"/admin/v1/reviews/{ids['review']}/decide",
                        {"outcome": "confirmed", "note": WORDS["review_note"]})):
        decided = client.post(path, headers=bearer(people.reviewer_key), json=body)
        assert decided.status_code == 200, (path, decided.get_json())
    return ids


def answers(people: Residents, client: Any, ids: dict[str, str]) -> str:
    """What the resident and the operators read of the three (their JSON, concatenated, each
    written again by `json.dumps`, as `json_text` escapes a word: the service writes UTF-8)."""
    out = []
    for path, key in (("/api/v1/me/disputes", people.a), ("/api/v1/me/repairs", people.a),
                      ("/api/v1/me/review-requests", people.a),
                      (f"/admin/v1/disputes/{ids['dispute']}", people.reviewer_key),
                      (f"/admin/v1/repairs/{ids['repair']}", people.reviewer_key),
                      (f"/admin/v1/reviews/{ids['review']}", people.reviewer_key)):
        response = client.get(path, headers=bearer(key))
        assert response.status_code == 200, (path, response.get_json())
        out.append(json.dumps(response.get_json()))
    return "\n".join(out)


@pytest.fixture
def people(app: Any, client: Any, idp: Any, clock: Any) -> Residents:
    return Residents(app, client, idp, clock)


def test_the_database_holds_free_text_only_as_ciphertext(app: Any, client: Any,
                                                         people: Residents) -> None:
    ids = file_everything(people, client)
    stored = raw(app)
    assert_no_words(stored)
    read = answers(people, client, ids)  # the resident and operators still read every word
    for word in WORDS.values():
        assert json_text(word) in read, word


def json_text(word: str) -> str:
    import json
    return json.dumps(word)[1:-1]


def test_destroying_the_data_key_leaves_no_free_text_readable(app: Any, client: Any,
                                                               people: Residents) -> None:
    file_everything(people, client)
    rt = rt_of(app)
    with rt.uow() as uow:
        for resident in uow.session.scalars(select(Resident)):
            key = uow.session.get(DataKey, resident.data_key_id)
            assert key is not None
            rt.keyring.destroy(key, rt.clock.now())
        uow.commit()
    stored = raw(app)
    assert_no_words(stored)
    with rt.uow() as uow:
        for model in (Dispute, Repair, ReviewRequest):
            for row in uow.session.scalars(select(model)):
                with pytest.raises(CryptoError):
                    _ = [row.note]  # every row here has a note, encrypted under a shredded key


def test_rows_written_before_0024_are_sealed_at_start_up(app: Any, client: Any,
                                                              people: Residents) -> None:
    ids = file_everything(people, client)
    before = answers(people, client, ids)
    rt = rt_of(app)
    # As migration 0024 found them: the text in the plain column, no ciphertext.
    with rt.uow() as uow:
        plain = {(m.__tablename__, n): [(r.id, getattr(r, n)) for r in uow.session.scalars(
            select(m))] for m, names in ((Dispute, ("reason", "evidence", "note")),
                                         (Repair, ("statement", "note")),
                                         (ReviewRequest, ("reason", "note"))) for n in names}
    with rt.engine.begin() as connection:
        for (table, column), rows in plain.items():
            for row_id, value in rows:
                connection.execute(text(f"UPDATE {table} SET {column} = :v, {column}_ct = NULL"
                                        " WHERE id = :id"), {"v": value, "id": row_id})
    assert WORDS["statement"] in raw(app)
    assert answers(people, client, ids) == before  # legacy rows are read as they are
    bootstrap(app)  # `pengcheng db upgrade`: migrations, then the data step of 0024
    with rt.uow() as uow:
        assert seal_plain_free_text(uow.session) == 0  # nothing left in plain
    stored = raw(app)
    assert_no_words(stored)
    assert answers(people, client, ids) == before
