"""Input PostgreSQL cannot store is refused at the door.

PostgreSQL text cannot hold NUL (U+0000). Found by fuzzing on PostgreSQL (a 500 on
`out_payment_no`); now every NUL in a path, query or JSON body is a 422 before any handler.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.security.estate import Estate, fingerprint
from tests.support.factories import bearer


def test_nul_characters_are_refused_wherever_they_are_sent(estate: Estate) -> None:
    merchant = bearer(estate.partner_key("merchant"))
    before = fingerprint(estate.app)
    attempts: list[Any] = [
        estate.client.get("/partner/v1/points/redemptions/a%00b", headers=merchant),
        estate.client.get("/reports/verify", query_string={"code": "ab\x00c"},
                          headers={"Accept": "application/json"}),
        estate.client.post("/partner/v1/points/redemptions", headers=merchant, json={
            "token": "x", "out_order_no": "o\x00", "points": 1}),
        estate.client.post("/api/v1/me/disputes", headers=bearer(estate.resident), json={
            "record_id": estate.ids["record_id"], "reason": "\x00"}),
    ]
    for response in attempts:
        assert response.status_code == 422, response.get_json()
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "validation_failed"
    assert fingerprint(estate.app) == before


def test_an_escaped_backslash_before_u0000_is_ordinary_text(estate: Estate) -> None:
    text = json.dumps({"record_id": estate.ids["record_id"], "reason": "C:\\u0000 不是我"})
    assert "\\\\u0000" in text  # JSON text with an escaped backslash, then "u0000"
    response = estate.client.post("/api/v1/me/disputes", headers=bearer(estate.resident),
                                  data=text, content_type="application/json")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reason"] == "C:\\u0000 不是我"


@pytest.mark.parametrize("path", ["/admin/v1/consents/export",
                                  "/admin/v1/residents/{resident}/consents"])
def test_an_out_of_range_sequence_number_is_a_validation_error(estate: Estate,
                                                              path: str) -> None:
    from tests.security.estate import resident_id

    url = path.format(resident=resident_id(estate.app, 7))
    response = estate.client.get(url, query_string={"after_seq": str(2**70)},
                                 headers=bearer(estate.operator_key("auditor")))
    assert response.status_code == 422, response.status_code
