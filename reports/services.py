"""Report use cases for the resident: generate, list, read one back, revoke.

Design overview
---------------
* `generate` assembles the content (build.py), signs its canonical JSON (signing.py), renders
  the PDF once (pdf.py) and stores the JWS and the PDF encrypted under the resident's data key,
  with the SHA-256 of the code and of the PDF for lookups. One transaction; the audit entry is
  appended last. The code leaves the service only in the answer to the resident.
* A report is what it was when issued: downloads return the stored PDF and render the HTML from
  the stored, signed payload, never from today's data.
* Revocation is immediate and final; verification checks it on every request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import Keyring
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Resident
from core.signing import Signer
from reports import build, pdf
from reports.errors import ReportGone, ReportNotFound
from reports.models import Report
from reports.rights import status
from reports.signing import open_signed, sign

FORMAT = "pengcheng-report/1"
CODE_BYTES = 24  # 192 bits, 32 URL-safe characters


@dataclass(frozen=True)
class Issuing:
    """What generation needs from the process: keys, issuer and where verification lives."""

    keyring: Keyring
    signer: Signer
    issuer: str
    verify_base: str  # absolute URL of /reports/verify
    days: int


@dataclass(frozen=True)
class Issued:
    """A report just issued: the only answer that carries its code besides the document."""

    report: Report
    code: str
    jws: str
    payload: dict[str, Any]

    @property
    def report_id(self) -> uuid.UUID:
        return self.report.id

    @property
    def kind(self) -> str:
        return self.report.kind

    @property
    def sections(self) -> list[str]:
        return list(self.report.sections)

    @property
    def issued_at(self) -> datetime:
        return self.report.issued_at

    @property
    def expires_at(self) -> datetime:
        return self.report.expires_at

    @property
    def verify_url(self) -> str:
        return str(self.payload["verify_url"])


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()


def verify_url(base: str, code: str) -> str:
    return f"{base}?code={code}"


def aad(report_id: uuid.UUID, what: str) -> str:
    return f"reports:{what}:{report_id}"


def generate(uow: UnitOfWork, resident: Resident, request: build.ReportRequest, *,
             issuing: Issuing, now: datetime) -> Issued:
    """Issue a signed report of exactly what `request` selects; commits."""
    session = uow.session
    content = build.content(session, resident, request, keyring=issuing.keyring, now=now)
    report_id, code = uuid.uuid4(), secrets.token_urlsafe(CODE_BYTES)
    expires = now + timedelta(days=issuing.days)
    payload = {
        "format": FORMAT, "iss": issuing.issuer, "report_id": str(report_id), "code": code,
        "kind": request.kind, "sections": list(request.sections), "lang": request.lang,
        "issued_at": iso(now), "valid_until": iso(expires),
        "verify_url": verify_url(issuing.verify_base, code), "content": content,
    }
    token, kid = sign(issuing.signer, session, payload)
    document = pdf.render(payload, jws=token)
    keyring = issuing.keyring
    report = Report(
        id=report_id, resident_id=resident.id, kind=request.kind, code_hash=code_hash(code),
        sections=list(request.sections), options=request.options(), kid=kid,
        document_ct=keyring.encrypt(session, resident.data_key_id, token,
                                    aad(report_id, "document")),
        pdf_ct=keyring.encrypt(session, resident.data_key_id,
                               base64.b64encode(document).decode(), aad(report_id, "pdf")),
        pdf_sha256=hashlib.sha256(document).hexdigest(),
        issued_at=now, expires_at=expires, revoked_at=None, purged_at=None)
    session.add(report)
    session.flush()
    audit.record(session, actor=f"resident:{resident.id}", action="report.issued", now=now,
                 subject=str(report_id), data={"kind": request.kind,
                                               "sections": list(request.sections)})
    uow.commit()
    return Issued(report, code, token, payload)


def listing(session: Session, resident_id: uuid.UUID) -> list[Report]:
    """The resident's reports, newest first."""
    return list(session.scalars(select(Report).where(Report.resident_id == resident_id)
                                .order_by(Report.issued_at.desc(), Report.id)))


def own(session: Session, resident_id: uuid.UUID, report_id: uuid.UUID) -> Report:
    report = session.get(Report, report_id)
    if report is None or report.resident_id != resident_id:
        raise ReportNotFound("you have no report with this id", detail_zh="未找到该报告")
    return report


def signed_document(session: Session, keyring: Keyring, signer: Signer, report: Report,
                    now: datetime) -> tuple[str, dict[str, Any]]:
    """(JWS, payload) of a report whose document is still kept; `ReportGone` otherwise."""
    if report.document_ct is None:
        raise ReportGone("this report's document has been deleted",
                         detail_zh="该报告内容已按期删除")
    token = keyring.decrypt(session, report.document_ct, aad(report.id, "document"))
    payload, _raw, _kid = open_signed(signer, session, token, now)
    return token, payload


def pdf_bytes(session: Session, keyring: Keyring, report: Report) -> bytes:
    if report.pdf_ct is None:
        raise ReportGone("this report's document has been deleted",
                         detail_zh="该报告内容已按期删除")
    return base64.b64decode(keyring.decrypt(session, report.pdf_ct, aad(report.id, "pdf")))


def revoke(uow: UnitOfWork, resident: Resident, report_id: uuid.UUID, *,
           now: datetime) -> Report:
    """End a report at once: every later verification answers "revoked". Idempotent; commits."""
    session = uow.session
    report = own(session, resident.id, report_id)
    if report.revoked_at is None:
        report.revoked_at = now
        audit.record(session, actor=f"resident:{resident.id}", action="report.revoked",
                     now=now, subject=str(report.id), data={"kind": report.kind})
    uow.commit()
    return report


@dataclass(frozen=True)
class Document:
    """One of the resident's reports as issued: the row, its JWS and the signed payload."""

    report: Report
    jws: str
    payload: dict[str, Any]


def reports_of(uow: UnitOfWork, resident: Resident, *, now: datetime) -> list[dict[str, Any]]:
    """The resident's reports, newest first, as their list shows them. Reads only."""
    return [summary(r, now) for r in listing(uow.session, resident.id)]


def detail(uow: UnitOfWork, resident: Resident, report_id: uuid.UUID, *, keyring: Keyring,
           signer: Signer, now: datetime) -> dict[str, Any]:
    """One of the resident's reports with its code and content while its document is kept
    (only the summary once purged). Reads only."""
    report = own(uow.session, resident.id, report_id)
    out = summary(report, now)
    if report.document_ct is not None:
        _jws, payload = signed_document(uow.session, keyring, signer, report, now)
        out.update(code=payload["code"], verify_url=payload["verify_url"],
                   content=payload["content"])
    return out


def document(uow: UnitOfWork, resident: Resident, report_id: uuid.UUID, *, keyring: Keyring,
             signer: Signer, now: datetime) -> Document:
    """One of the resident's reports as issued; `ReportGone` once purged. Reads only."""
    report = own(uow.session, resident.id, report_id)
    jws, payload = signed_document(uow.session, keyring, signer, report, now)
    return Document(report, jws, payload)


def pdf_of(uow: UnitOfWork, resident: Resident, report_id: uuid.UUID, *,
           keyring: Keyring) -> tuple[Report, bytes]:
    """One of the resident's reports and its PDF as issued; `ReportGone` once purged."""
    report = own(uow.session, resident.id, report_id)
    return report, pdf_bytes(uow.session, keyring, report)


def summary(report: Report, now: datetime) -> dict[str, Any]:
    """How the resident's list shows a report (no code: that is in the document itself)."""
    return {"report_id": report.id, "kind": report.kind, "sections": list(report.sections),
            "categories": report.options.get("categories", []),
            "period": report.options.get("period"), "issued_at": report.issued_at,
            "expires_at": report.expires_at, "revoked_at": report.revoked_at,
            "status": status(report, now), "available": report.document_ct is not None}
