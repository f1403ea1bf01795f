"""Credit reports and no-violation certificates: the resident's `/api/v1/me/reports` and the
public `/reports/verify` (no authentication: anyone holding a code or a document may check it)."""

from __future__ import annotations

import base64
import binascii
import json
import os
from contextlib import AbstractContextManager
from typing import Any

from flask import Response, current_app, request, url_for
from flask.views import MethodView

from app import auth
from app.api.common import RESIDENT, Blueprint
from app.api.reports.schemas import (
    ReportDetailSchema,
    ReportIssuedSchema,
    ReportListSchema,
    ReportRequestSchema,
    ReportSummarySchema,
    SignedSchema,
    VerdictSchema,
    VerifyDocumentSchema,
    VerifyQuerySchema,
)
from app.ratelimit import Attempt, attempt, enforce
from app.runtime import runtime
from core.db import UnitOfWork
from core.errors import RateLimited
from reports import build, html, services, verify

blp = Blueprint("reports", __name__, url_prefix="/api/v1/me/reports",
                description="The resident's signed credit reports and no-violation certificates")
public = Blueprint("report_verify", __name__, url_prefix="/reports",
                   description="Anyone checks a report: genuine, valid, revoked, and its content")



# -- helpers ------------------------------------------------------------------------------------

def _verify_base() -> str:
    base = runtime().settings["REPORT_BASE_URL"] or request.url_root
    return base.rstrip("/") + "/reports/verify"


def _issuing() -> services.Issuing:
    return services.Issuing(keyring=runtime().keyring, signer=runtime().signer,
                           issuer=runtime().settings["ISSUER"], verify_base=_verify_base(),
                           days=int(runtime().settings["REPORT_DAYS"]))


def _checking() -> verify.Checking:
    return verify.Checking(keyring=runtime().keyring, signer=runtime().signer)


def _document(uow: UnitOfWork, report_id: Any) -> services.Document:
    """The signed-in resident's report `report_id` as issued."""
    return services.document(uow, auth.resident(uow), report_id, keyring=runtime().keyring,
                             signer=runtime().signer, now=runtime().clock.now())


def _pages() -> Any:
    return html.environment(os.path.join(current_app.root_path, "templates", "reports"))


def _css() -> str:
    return url_for("static", filename="reports/report.css")


def _page(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = html.CSP
    return response


def _wants_json(fmt: str | None) -> bool:
    if fmt:
        return fmt == "json"
    accept = request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json"


# -- the resident -------------------------------------------------------------------------------

@blp.route("")
class Reports(MethodView):
    @blp.response(200, ReportListSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """My reports, newest first: kind, sections shared, validity and status."""
        with runtime().uow() as uow:
            return {"items": services.reports_of(uow, auth.resident(uow),
                                                 now=runtime().clock.now())}

    @blp.arguments(ReportRequestSchema())
    @blp.response(201, ReportIssuedSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body):
        """Issue a signed report (PDF and printable HTML) with a verification code and QR code."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            now = runtime().clock.now()
            period = body["period"]
            wanted = build.parse_request(
                body["kind"], sections=body["sections"], categories=body["categories"],
                period=None if period is None else {"from": period["start"],
                                                    "to": period["end"]},
                now=now, lang=body["lang"])
            enforce(f"reports:{resident.id}", runtime().settings["RATE_LIMIT_REPORTS"])
            return services.generate(uow, resident, wanted, issuing=_issuing(), now=now)


@blp.route("/<uuid:report_id>")
class ReportOne(MethodView):
    @blp.response(200, ReportDetailSchema)
    @blp.doc(security=RESIDENT)
    def get(self, report_id):
        """One of my reports with its code, exactly the content it shares, and the QR code of
        its verification link (to show on the phone to whoever checks it)."""
        with runtime().uow() as uow:
            found = services.detail(uow, auth.resident(uow), report_id,
                                    keyring=runtime().keyring, signer=runtime().signer,
                                    now=runtime().clock.now())
        if found.get("verify_url"):
            found["qr_svg"] = str(html.qr_svg(found["verify_url"]))
        return found


@blp.route("/<uuid:report_id>/pdf")
class ReportPdf(MethodView):
    @blp.response(200, content_type="application/pdf")
    @blp.doc(security=RESIDENT)
    def get(self, report_id):
        """The report as issued, as a PDF (signed JWS in its document information)."""
        with runtime().uow() as uow:
            report, data = services.pdf_of(uow, auth.resident(uow), report_id,
                                           keyring=runtime().keyring)
        name = f"pengcheng-{report.kind}-{report.issued_at:%Y%m%d}.pdf"
        return Response(data, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})


@blp.route("/<uuid:report_id>/html")
class ReportHtml(MethodView):
    @blp.response(200, content_type="text/html")
    @blp.doc(security=RESIDENT)
    def get(self, report_id):
        """The report as issued, as a printable page."""
        with runtime().uow() as uow:
            found = _document(uow, report_id)
        return _page(html.document(_pages(), found.payload, css_url=_css()))


@blp.route("/<uuid:report_id>/signed")
class ReportSigned(MethodView):
    @blp.response(200, SignedSchema)
    @blp.doc(security=RESIDENT)
    def get(self, report_id):
        """The signed document: the JWS and its payload, for offline or upload verification."""
        with runtime().uow() as uow:
            found = _document(uow, report_id)
        return {"jws": found.jws, "report": found.payload}


@blp.route("/<uuid:report_id>/revoke")
class ReportRevoke(MethodView):
    @blp.response(200, ReportSummarySchema)
    @blp.doc(security=RESIDENT)
    def post(self, report_id):
        """Revoke a report at once: every later verification answers "revoked"."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            now = runtime().clock.now()
            report = services.revoke(uow, resident, report_id, now=now)
            return services.summary(report, now)


# -- anyone -------------------------------------------------------------------------------------

def _verify_limits() -> AbstractContextManager[Attempt]:
    """Verification is limited per client address and per code (app/ratelimit.py)."""
    return attempt("report-verify", by_address="RATE_LIMIT_REPORT_VERIFY",
                   by_subject="RATE_LIMIT_REPORT_VERIFY_CODE")


@public.route("/verify")
class Verify(MethodView):
    @public.arguments(VerifyQuerySchema(), location="query")
    @public.response(200, VerdictSchema)
    @public.doc(responses={"200": {"description": "The verdict: JSON, or the page", "content": {
        "application/json": {"schema": VerdictSchema},
        "text/html": {"schema": {"type": "string",
                                 "description": "the verification page (no Accept: JSON)"}}}}})
    def get(self, query):
        """Check a verification code: JSON with `Accept: application/json`, a page otherwise."""
        as_json = _wants_json(query["format"])
        code = query["code"]
        if not code and not as_json:
            return _page(html.verification(_pages(), {}, code=None, verify_url=None,
                                           report_id=None, css_url=_css()))
        try:
            with _verify_limits() as tried:
                tried.subject(code or "")
        except RateLimited:
            if as_json:
                raise
            return _page(html.verification(_pages(), {}, code=code, verify_url=None,
                                           report_id=None, css_url=_css(), busy=True), 429)
        with runtime().uow() as uow:
            verdict = verify.by_code(uow, code, checking=_checking(), now=runtime().clock.now(),
                                     channel="api" if as_json else "page")
        answer = verdict.as_json()
        if as_json:
            return answer
        return _page(html.verification(
            _pages(), answer, code=code, verify_url=services.verify_url(_verify_base(), code),
            report_id=str(verdict.report_id) if verdict.report_id else None, css_url=_css()))

    @public.arguments(VerifyDocumentSchema())
    @public.response(200, VerdictSchema)
    def post(self, body):
        """Check a document: the signed JWS, the report JSON, or the PDF file (base64)."""
        with _verify_limits() as tried:
            tried.subject(json.dumps(body, sort_keys=True))  # per document, as a code is
        checking, now = _checking(), runtime().clock.now()
        with runtime().uow() as uow:
            if "jws" in body:
                verdict = verify.by_jws(uow, body["jws"], checking=checking, now=now)
            elif "report" in body:
                verdict = verify.by_json(uow, body["report"], checking=checking, now=now)
            else:
                try:
                    data = base64.b64decode(body["pdf_base64"], validate=True)
                except (binascii.Error, ValueError):
                    data = b""
                verdict = verify.by_pdf(uow, data, checking=checking, now=now)
        return verdict.as_json()
