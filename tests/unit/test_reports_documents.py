"""The report formats without an app: canonical JSON, the JWS, the PDF and the HTML page."""

from __future__ import annotations

import io
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.api_jws import PyJWS
from pypdf import PdfReader

from reports import html, labels, pdf
from reports.signing import canonical

TEMPLATES = str(Path(__file__).resolve().parents[2] / "app" / "templates" / "reports")
CODE = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"
PAYLOAD = {
    "format": "pengcheng-report/1", "iss": "https://pengcheng.example", "code": CODE,
    "report_id": "00000000-0000-4000-8000-000000000001", "kind": "no_violation",
    "sections": ["no_violation"], "lang": "zh", "issued_at": "2026-11-01T08:00:00Z",
    "valid_until": "2026-12-01T08:00:00Z",
    "verify_url": f"https://pengcheng.example/reports/verify?code={CODE}",
    "content": {
        "subject": {"name": "陈<b>小</b>明", "id_number": "440***********123X"},
        "no_violation": {
            "period": {"from": "2023-11-02", "to": "2026-11-01"}, "clean": False,
            "categories": [{"code": "traffic", "name_zh": "交通", "name_en": "Traffic",
                            "clean": False, "negatives": [{
                                "category": "traffic", "type": "violation",
                                "name_zh": "交通违法", "name_en": "Traffic violation",
                                "occurred_on": "2026-10-20", "severity": "minor",
                                "severity_zh": "轻微", "status": "disputed",
                                "status_zh": "异议处理中", "status_en": "under dispute"}]}],
            "statement_zh": "存在1条有效负面记录", "statement_en": "1 negative record",
            "scope_zh": "范围说明", "scope_en": "scope"},
    },
}


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_utf8():
    assert canonical({"b": 1, "a": {"d": "中文", "c": [1, 2]}}) == \
        '{"a":{"c":[1,2],"d":"中文"},"b":1}'.encode()


def test_the_pdf_holds_the_code_the_jws_and_escaped_text():
    key = Ed25519PrivateKey.generate()
    token = PyJWS().encode(canonical(PAYLOAD), key, algorithm="EdDSA", headers={"kid": "k"})

    data = pdf.render(PAYLOAD, jws=token)

    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata["/PengchengReportJWS"] == token
    assert reader.metadata["/PengchengReportCode"] == CODE
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "")
    assert CODE in text
    assert json.loads(PyJWS().decode(reader.metadata["/PengchengReportJWS"], key.public_key(),
                                     algorithms=["EdDSA"])) == PAYLOAD
    assert pdf.render(PAYLOAD, jws=token) == data  # same payload, same bytes


def test_both_formats_show_the_same_facts():
    view = labels.view(PAYLOAD)

    assert view.title_zh == "无违法违规记录证明"
    assert ("出具时间 Issued", "2026-11-01 16:00 CST") in view.facts
    assert view.blocks[0].grids[1].rows[0][0] == "交通 Traffic"
    assert "异议处理中 under dispute" in view.blocks[0].grids[1].rows[0]


def test_the_html_page_escapes_resident_text_and_has_no_script():
    page = html.document(html.environment(TEMPLATES), PAYLOAD, css_url="/static/x.css")

    assert "陈&lt;b&gt;小&lt;/b&gt;明" in page and "<b>小</b>" not in page
    assert CODE in page and "<svg" in page and "<script" not in page and "style=" not in page
