"""Third-party verification: by code, by the signed document (JWS or JSON), or by the PDF.

Every answer is a `Verdict`, never an exception: unknown codes, forged or tampered documents,
expired and revoked reports all get a plain "not genuine / expired / revoked" answer.
Content is returned only for a genuine report that is neither expired nor revoked, and it is
exactly the signed content — the sections the resident chose, nothing more.
Each verification of an existing report is written to the resident's access log (查询记录).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import CryptoError, Keyring
from core.db import UnitOfWork
from core.idempotency import iso
from core.signing import Signer
from reports.models import Report
from reports.rights import VERIFY_ACTION, status
from reports.services import aad, code_hash
from reports.signing import BadSignature, canonical, open_signed
from rewards.access import record_access

CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
MESSAGES = {
    "genuine": ("报告真实有效。", "This report is genuine and valid."),
    "revoked": ("报告真实，但已被本人撤销，不再有效。",
                "This report was genuine but its owner has revoked it."),
    "expired": ("报告真实，但已过有效期。", "This report was genuine but has expired."),
    "unknown_code": ("未找到该核验码对应的报告：报告不真实或核验码有误。",
                     "No report has this code: it is not genuine or the code is mistyped."),
    "signature_invalid": ("签名验证失败：文件不是本系统签发或已被篡改。",
                          "The signature does not verify: not issued by us, or altered."),
    "tampered": ("内容与签发的报告不一致：文件已被篡改。",
                 "The content differs from the report we issued: it has been altered."),
    "unknown_document": ("未找到与该文件完全一致的报告：文件不是本系统签发或已被修改。",
                         "No report we issued matches this file byte for byte: it is not "
                         "ours or it has been altered."),
    "unavailable": ("该报告内容已删除，无法核验。",
                    "This report's content has been deleted and cannot be verified."),
}


@dataclass
class Verdict:
    genuine: bool
    reason: str
    revoked: bool = False
    expired: bool = False
    kind: str | None = None
    issued_at: str | None = None
    valid_until: str | None = None
    sections: list[str] = field(default_factory=list)
    content: dict[str, Any] | None = None
    report_id: uuid.UUID | None = None

    def as_json(self) -> dict[str, Any]:
        zh, en = MESSAGES[self.reason]
        return {"genuine": self.genuine, "revoked": self.revoked, "expired": self.expired,
                "kind": self.kind, "issued_at": self.issued_at, "valid_until": self.valid_until,
                "sections": self.sections if self.content is not None else [],
                "content": self.content, "reason": self.reason, "message_zh": zh,
                "message_en": en}


@dataclass(frozen=True)
class Checking:
    keyring: Keyring
    signer: Signer


def _no(reason: str) -> Verdict:
    return Verdict(genuine=False, reason=reason)


def _stored_payload(session: Session, checking: Checking, report: Report, now: datetime
                    ) -> tuple[dict[str, Any], bytes] | None:
    """The stored document, its signature checked again (a row edited in the database fails)."""
    if report.document_ct is None:
        return None
    try:
        token = checking.keyring.decrypt(session, report.document_ct,
                                         aad(report.id, "document"))
        payload, raw, _kid = open_signed(checking.signer, session, token, now)
    except (CryptoError, BadSignature):
        return None
    if payload.get("report_id") != str(report.id):
        return None
    return payload, raw


def _answer(session: Session, checking: Checking, report: Report, now: datetime,
            payload: dict[str, Any] | None = None) -> Verdict:
    state = status(report, now)
    verdict = Verdict(genuine=True, reason=state, revoked=state == "revoked",
                      expired=state == "expired", kind=report.kind,
                      issued_at=iso(report.issued_at), valid_until=iso(report.expires_at),
                      report_id=report.id)
    if state != "active":
        return verdict
    if payload is None:
        stored = _stored_payload(session, checking, report, now)
        if stored is None:
            verdict.genuine, verdict.reason = False, "unavailable"
            return verdict
        payload = stored[0]
    verdict.reason = "genuine"
    verdict.sections = list(payload.get("sections", []))
    verdict.content = payload.get("content")
    return verdict


def _log(session: Session, report: Report, verdict: Verdict, channel: str, now: datetime) -> None:
    learned: dict[str, Any] = {"report_id": str(report.id), "kind": report.kind,
                               "result": verdict.reason}
    if verdict.content is not None:
        learned["sections"] = verdict.sections
    record_access(session, resident_id=report.resident_id, actor_kind="public",
                  actor_id=f"verify:{channel}", actor_name="报告核验 report verification",
                  action=VERIFY_ACTION, outcome=verdict.reason, now=now, learned=learned)


def _finish(uow: UnitOfWork, report: Report, verdict: Verdict, channel: str,
            now: datetime) -> Verdict:
    _log(uow.session, report, verdict, channel, now)
    uow.commit()
    return verdict


def by_code(uow: UnitOfWork, code: str | None, *, checking: Checking, now: datetime,
            channel: str = "api") -> Verdict:
    """The answer for a verification code (as printed on the report and in its QR code)."""
    if not code or not CODE_SHAPE.match(code):
        return _no("unknown_code")
    session = uow.session
    report = session.scalars(select(Report).where(Report.code_hash == code_hash(code))).first()
    if report is None:
        return _no("unknown_code")
    stored = _stored_payload(session, checking, report, now)
    if stored is not None and not hmac.compare_digest(str(stored[0].get("code")), code):
        return _finish(uow, report, _no("signature_invalid"), channel, now)
    return _finish(uow, report, _answer(session, checking, report, now,
                                        stored[0] if stored else None), channel, now)


def by_jws(uow: UnitOfWork, token: str, *, checking: Checking, now: datetime) -> Verdict:
    """The answer for a signed document (compact JWS): signature first, then status."""
    session = uow.session
    try:
        payload, _raw, _kid = open_signed(checking.signer, session, token, now)
    except BadSignature:
        return _no("signature_invalid")
    report = _report(session, payload.get("report_id"))
    if report is None or report.code_hash != code_hash(str(payload.get("code", ""))):
        return _no("unknown_document")
    return _finish(uow, report, _answer(session, checking, report, now, payload), "document", now)


def by_json(uow: UnitOfWork, document: dict[str, Any], *, checking: Checking,
            now: datetime) -> Verdict:
    """The answer for the report's JSON without its signature: it must equal what we signed."""
    session = uow.session
    report = _report(session, document.get("report_id"))
    if report is None:
        return _no("unknown_document")
    stored = _stored_payload(session, checking, report, now)
    if stored is None:
        return _finish(uow, report, Verdict(genuine=False, reason="unavailable"), "document",
                       now)
    try:
        same = hmac.compare_digest(canonical(document), stored[1])
    except (TypeError, ValueError):
        same = False
    if not same:
        return _finish(uow, report, _no("tampered"), "document", now)
    return _finish(uow, report, _answer(session, checking, report, now, stored[0]), "document",
                   now)


def by_pdf(uow: UnitOfWork, data: bytes, *, checking: Checking, now: datetime) -> Verdict:
    """The answer for a PDF file: it must be byte for byte the PDF we issued."""
    session = uow.session
    digest = hashlib.sha256(data).hexdigest()
    report = session.scalars(select(Report).where(Report.pdf_sha256 == digest)).first()
    if report is None:
        return _no("unknown_document")
    return _finish(uow, report, _answer(session, checking, report, now), "pdf", now)


def _report(session: Session, report_id: Any) -> Report | None:
    try:
        key = uuid.UUID(str(report_id))
    except ValueError:
        return None
    return session.get(Report, key)
