"""Report documents: a real PDF, a signature anyone can check against the JWKS, and tampering
of the JSON, the JWS or the PDF detected."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess

import pytest
from jwcrypto import jwk, jws
from pypdf import PdfReader, PdfWriter

from tests.support.factories import bearer
from tests.support.reports import People


@pytest.fixture
def people(app, client, idp) -> People:
    return People(app, client, idp)


def _pdf(people: People, client, issued: dict) -> bytes:
    response = client.get(issued["pdf_url"], headers=bearer(people.alice))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def _signed(people: People, client, issued: dict) -> dict:
    response = client.get(issued["signed_url"], headers=bearer(people.alice))
    assert response.status_code == 200
    return response.get_json()


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def test_report_keys_are_published_in_a_document_of_their_own(client):
    report = client.get("/.well-known/report-keys.json").get_json()["keys"]
    token = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert all(k["kid"].startswith("report-") for k in report)
    assert report and token and not {k["x"] for k in report} & {k["x"] for k in token}
    assert all(k["use"] == "sig" and k["alg"] == "EdDSA" and k["crv"] == "Ed25519"
               for k in report)


def test_the_signature_verifies_against_the_jwks_with_an_independent_library(
        people: People, client):
    issued = people.issued(people.alice, kind="credit_report", sections=["score", "records"])
    signed = _signed(people, client, issued)
    keyset = jwk.JWKSet.from_json(
        client.get("/.well-known/report-keys.json").get_data(as_text=True))

    token = jws.JWS()
    token.deserialize(signed["jws"])
    kid = token.jose_header["kid"]
    token.verify(keyset.get_key(kid))

    assert kid.startswith("report-")
    # the signed bytes are the canonical JSON: sorted keys, no whitespace, UTF-8
    canonical = json.dumps(signed["report"], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()
    assert token.payload == canonical
    assert signed["report"]["code"] == issued["code"]
    assert signed["report"]["sections"] == ["score", "records"]


def test_the_pdf_is_a_real_pdf_carrying_the_code_and_the_signed_document(
        people: People, client):
    issued = people.issued(people.alice, kind="credit_report")
    data = _pdf(people, client, issued)

    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)

    assert data.startswith(b"%PDF-") and len(reader.pages) >= 1
    assert issued["code"] in text.replace("\n", "")
    assert reader.metadata["/PengchengReportCode"] == issued["code"]
    embedded = reader.metadata["/PengchengReportJWS"]
    assert embedded == _signed(people, client, issued)["jws"]
    assert people.verify_document(jws=embedded)["genuine"] is True


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_poppler_extracts_the_chinese_text(people: People, client, tmp_path):
    issued = people.issued(people.bob, kind="no_violation")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(_pdf_of(people, client, issued, people.bob))

    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout

    assert "无违法违规记录证明" in text and "赵强" in text and issued["code"] in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "120", "-png", "-f", "1", "-l", "1", str(path),
                        str(tmp_path / "page")], check=True)
        assert (tmp_path / "page-1.png").stat().st_size > 5000
        if shutil.which("zbarimg"):  # the QR code on the page scans to the verification URL
            scanned = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")],
                                     capture_output=True, text=True).stdout.split()
            assert scanned == [issued["verify_url"]]


def _pdf_of(people: People, client, issued: dict, token: str) -> bytes:
    response = client.get(issued["pdf_url"], headers=bearer(token))
    assert response.status_code == 200
    return response.data


def test_the_report_json_verifies_and_one_changed_character_does_not(people: People, client):
    issued = people.issued(people.alice, kind="credit_report", sections=["score"])
    report = _signed(people, client, issued)["report"]

    assert people.verify_document(report=report)["genuine"] is True
    report["content"]["score"]["score"] += 1
    tampered = people.verify_document(report=report)

    assert tampered["genuine"] is False and tampered["reason"] == "tampered"
    assert tampered["content"] is None


def test_a_tampered_jws_is_not_genuine(people: People, client):
    issued = people.issued(people.alice, kind="no_violation")
    token = _signed(people, client, issued)["jws"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["content"]["no_violation"]["clean"] = not claims["content"]["no_violation"]["clean"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    for bad in (f"{header}.{forged}.{signature}", _flip(token, len(token) - 5),
                _flip(token, len(header) + 10), "not-a-jws", "a.b.c"):
        answer = people.verify_document(jws=bad)
        assert answer["genuine"] is False and answer["content"] is None, bad


def test_a_pdf_changed_by_one_byte_is_not_genuine(people: People, client):
    issued = people.issued(people.alice, kind="no_violation")
    data = _pdf(people, client, issued)

    genuine = people.verify_document(pdf_base64=base64.b64encode(data).decode())
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    tampered = people.verify_document(pdf_base64=base64.b64encode(bytes(changed)).decode())

    assert genuine["genuine"] is True and genuine["content"]["no_violation"]["clean"] is True
    assert tampered["genuine"] is False and tampered["reason"] == "unknown_document"
    garbage = people.verify_document(pdf_base64="%%%not base64")
    assert garbage["genuine"] is False


def test_a_pdf_rewritten_with_edited_metadata_is_not_genuine(people: People, client):
    issued = people.issued(people.alice, kind="credit_report", sections=["commendations"])
    data = _pdf(people, client, issued)
    reader = PdfReader(io.BytesIO(data))
    embedded = reader.metadata["/PengchengReportJWS"]
    writer = PdfWriter(clone_from=reader)
    writer.add_metadata({"/PengchengReportJWS": _flip(embedded, len(embedded) // 2)})
    out = io.BytesIO()
    writer.write(out)

    as_file = people.verify_document(pdf_base64=base64.b64encode(out.getvalue()).decode())
    as_jws = people.verify_document(
        jws=PdfReader(io.BytesIO(out.getvalue())).metadata["/PengchengReportJWS"])

    assert as_file["genuine"] is False and as_jws["genuine"] is False


def test_a_revoked_report_document_is_reported_revoked(people: People, client):
    issued = people.issued(people.alice, kind="no_violation")
    signed = _signed(people, client, issued)
    data = _pdf(people, client, issued)
    client.post(f"/api/v1/me/reports/{issued['report_id']}/revoke", headers=bearer(people.alice))

    for answer in (people.verify_document(jws=signed["jws"]),
                   people.verify_document(report=signed["report"]),
                   people.verify_document(pdf_base64=base64.b64encode(data).decode())):
        assert answer["genuine"] is True and answer["revoked"] is True
        assert answer["content"] is None


def test_reports_stay_verifiable_after_the_report_key_rotates(people: People, client, app):
    from app.runtime import runtime

    issued = people.issued(people.alice, kind="no_violation")
    token = _signed(people, client, issued)["jws"]
    with app.app_context(), runtime().uow() as uow:
        runtime().signer.rotate(uow.session, "report", runtime().clock.now())
        uow.commit()

    assert people.verify(issued["code"])["genuine"] is True
    assert people.verify_document(jws=token)["genuine"] is True
    newer = people.issued(people.alice, kind="no_violation")
    assert _signed(people, client, newer)["jws"].split(".")[0] != token.split(".")[0]


@pytest.mark.parametrize("body", [{}, {"jws": "x", "report": {}}, {"pdf": "x"},
                                  {"report": "not an object"}])
def test_a_document_request_without_exactly_one_document_is_refused(client, body):
    response = client.post("/reports/verify", json=body)

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_the_printable_page_carries_the_code_and_qr_and_no_script(people: People, client):
    issued = people.issued(people.alice, kind="credit_report", sections=["score"])

    page = client.get(issued["html_url"], headers=bearer(people.alice))

    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert issued["code"] in text and issued["verify_url"] in text and "<svg" in text
    assert "<script" not in text and "style=" not in text
    assert 'rel="stylesheet" href="/static/reports/report.css"' in text
    assert "Content-Security-Policy" in page.headers
