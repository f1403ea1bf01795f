"""Every `format` an operation offers answers in a content type its 200 response documents.

Deterministic companion of the fuzzing run (which finds these only by chance): each GET with a
`format` query parameter is called once per offered format, with the caller it serves.
"""

from __future__ import annotations

from typing import Any

from tests.security.actors import operations, scheme_of
from tests.security.estate import Estate
from tests.security.openapi import path_params, request_for


def test_every_offered_format_is_a_documented_content_type(app: Any, client: Any,
                                                           estate: Estate) -> None:
    document = client.get("/openapi.json").get_json()
    values = {**estate.ids, "client_id": estate.partners["merchant"][0].client_id}
    undocumented, checked = [], 0
    for method, path, op in operations(document):
        offered = [p for p in op["parameters"] if p["in"] == "query" and p["name"] == "format"]
        if method != "GET" or not offered or set(path_params(op)) - set(values):
            continue
        documented = set(op["responses"].get("200", {}).get("content", {}))
        # Settlement statements are a hospital's or deposit partner's, for one day.
        settlement = "settlement" in path
        owner = {"client_id": estate.partners["hospital"][0].client_id} if settlement else {}
        period = {"date": "2026-11-01"} if settlement else {
            "from": "2026-10-01T00:00:00+00:00", "to": "2026-12-01T00:00:00+00:00"}
        for fmt in [f for f in offered[0]["schema"].get("enum", []) if f]:
            kwargs = request_for(document, method, path, op, {**values, **owner})
            kwargs["query_string"] = {**kwargs["query_string"], "format": fmt, **period}
            response = client.open(headers=estate.headers(method, path, scheme_of(op)),
                                   **kwargs)
            assert response.status_code == 200, (path, fmt, response.get_json())
            checked += 1
            if documented and response.mimetype not in documented:
                undocumented.append((path, fmt, response.mimetype))
    assert checked >= 6
    assert not undocumented, undocumented
