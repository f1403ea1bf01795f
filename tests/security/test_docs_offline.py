"""`/docs` works on an intranet with no internet: Swagger UI comes from this service itself."""

from __future__ import annotations

import re
from typing import Any

EXTERNAL = re.compile(r"""(?:https?:)?//[^"'\s]+""")
REFERENCED = re.compile(r"""(?:src|href)="([^"]+)\"""")


def test_the_docs_page_and_every_file_it_loads_are_served_by_the_service(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "SwaggerUIBundle" in html
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)
    assets = REFERENCED.findall(html)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}
    for asset in assets:
        assert asset.startswith("/docs/assets/"), asset
        with client.get(asset) as response:
            assert response.status_code == 200, asset
            assert response.mimetype in ("text/css", "text/javascript",
                                         "application/javascript")
            assert len(response.get_data()) > 10_000, asset
            assert "no-store" not in response.headers.get("Cache-Control", "")


def test_the_docs_page_reads_this_services_openapi_document_and_no_online_validator(
        client: Any) -> None:
    html = client.get("/docs").get_data(as_text=True)
    assert 'url: "/openapi.json"' in html
    assert '"validatorUrl": null' in html


def test_a_file_outside_the_bundle_is_not_served(client: Any) -> None:
    for path in ("/docs/assets/../../__init__.py", "/docs/assets/%2e%2e/__init__.py",
                 "/docs/assets/nothing.js"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
