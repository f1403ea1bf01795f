"""Which refusals each operation can answer: one registry, read by the OpenAPI document
(`app.openapi_errors`), by docs/partners.md's error table (generated from it) and by the test that
every problem answer an operation gives is one its entry lists (tests/api/test_openapi_refusals.py).

An operation's refusals are the domain errors it reaches, named by their classes in `OPERATIONS`
(the classes live in their packages; `app/errors.py` maps them to problem+json), plus what every
operation of its kind can answer (`generic`): the input screen's (`app.safe_input`), the
security scheme's 401, and 503 when the database is away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.idp import AssertionInvalid, AssertionReplayed, IdpNotConfigured
from consent.errors import (
    CategoriesInvalid,
    ConsentConflict,
    ConsentNotActive,
    ConsentNotFound,
    NoticeInvalid,
    NoticeNotFound,
    NoticeSuperseded,
    SeparateConsentRequired,
)
from consent.gate import ConsentRequired
from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
)
from core.staff import StaffExists, StaffInvalid, StaffNotFound
from events.errors import (
    DeliveryNotFound,
    EndpointDisabled,
    EndpointNotFound,
    InvalidEndpoint,
    TooManyEndpoints,
)
from reports.errors import ReportGone, ReportInvalid, ReportNotFound
from rewards.credit.errors import (
    AmountExceedsHold,
    AuthorizationClosed,
    AuthorizationNotFound,
    BillNotFound,
    CreditDeclined,
    PaymentExceedsDebt,
)
from rewards.errors import (
    CodeUnknown,
    InvalidScenario,
    LimitExceeded,
    NotEligible,
    PartnerNotServing,
    ScenarioNotAvailable,
    TokenAlgorithmRefused,
    TokenBadSignature,
    TokenExpired,
    TokenHasOwnCall,
    TokenMalformed,
    TokenNotYetValid,
    TokenReplayed,
    TokenRevoked,
    TokenTooLarge,
    TokenUnknownKey,
    TokenWrongAudience,
    TokenWrongScenario,
    UnknownPartner,
    UnknownScenario,
    UseDeclined,
)
from rewards.points.errors import (
    InvalidPeriod,
    RedemptionNotFound,
    RefundExceedsRedemption,
)
from rewards.settlement import InvalidCursor
from rewards.waivers.errors import (
    InvalidDeposit,
    WaiverClosed,
    WaiverDeclined,
    WaiverNotDue,
    WaiverNotFound,
)
from rights.errors import (
    AlreadyDecided,
    AlreadyDisputed,
    DisputeNotFound,
    InvalidCorrection,
    InvalidText,
    NotDisputable,
    RecordNotFound,
    RepairNotEligible,
    RepairNotFound,
    RepairPending,
    ReviewNotFound,
)
from scoring.simulate import SimulationInvalid


@dataclass(frozen=True, order=True)
class Refusal:
    """One answer an operation may give: its status, stable code and what it means."""

    status: int
    code: str
    title: str
    retry_after: bool = False  # the answer carries Retry-After

    @classmethod
    def of(cls, error: type[DomainError]) -> Refusal:
        return cls(error.status, error.code, error.title, retry_after=error is RateLimited)


Entry = type[DomainError] | Refusal

# -- what the service's own door answers (app.safe_input, app.errors, gunicorn.conf.py) ----------
BAD_REQUEST = Refusal(400, "bad_request", "The request could not be read")
MALFORMED_JSON = Refusal(400, "malformed_json", "The body is not one valid JSON document")
PAYLOAD_TOO_LARGE = Refusal(413, "payload_too_large", "The body is larger than 2 MiB")
URI_TOO_LONG = Refusal(414, "uri_too_long", "The URL is longer than 4096 bytes")
UNSUPPORTED_MEDIA_TYPE = Refusal(415, "unsupported_media_type", "The body is not JSON")
VALIDATION_FAILED = Refusal(422, "validation_failed", "Invalid fields")
NO_ROUTE = Refusal(404, "not_found", "No such resource (a path parameter names nothing)")
HEADER_TOO_LARGE = Refusal(431, "header_too_large", "A request header is too large")
DATABASE_UNAVAILABLE = Refusal(503, "database_unavailable", "The service is briefly unavailable",
                               retry_after=True)
DATABASE_BUSY = Refusal(503, "database_busy", "The data this request needs is busy",
                        retry_after=True)
RESIDENT_BUSY = Refusal(503, "resident_busy",
                        "Other requests for this resident are still in progress",
                        retry_after=True)  # app.extensions.ResidentSlots: a resident's writes
RATE_LIMITED = Refusal.of(RateLimited)

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
NO_DATABASE = frozenset({"GET /api/v1/me/export/schema"})

TOKEN_CHECKS = (TokenMalformed, TokenTooLarge, TokenAlgorithmRefused, TokenUnknownKey,
                TokenBadSignature, TokenExpired, TokenNotYetValid, TokenWrongAudience,
                TokenWrongScenario,
                CodeUnknown, RATE_LIMITED)  # a short code: not a live one, or too many wrong
TOKEN_USE = (*TOKEN_CHECKS, TokenRevoked, TokenReplayed)  # a scenario call uses the token up
RESIDENT_NOTES = (InvalidText, RATE_LIMITED)

# "METHOD /path" as in the OpenAPI document -> the refusals its use cases can raise.
OPERATIONS: dict[str, tuple[Entry, ...]] = {
    "GET /.well-known/jwks.json": (),
    "GET /.well-known/receipt-keys.json": (),
    "GET /.well-known/report-keys.json": (),
    "GET /.well-known/audit-keys.json": (),
    "GET /healthz": (),
    # partner webhooks (events/)
    "GET /partner/v1/webhooks": (),
    "POST /partner/v1/webhooks": (InvalidEndpoint, TooManyEndpoints),
    "GET /partner/v1/webhooks/keys": (),
    "GET /partner/v1/webhooks/deliveries": (),
    "GET /partner/v1/webhooks/{endpoint_id}": (EndpointNotFound,),
    "PATCH /partner/v1/webhooks/{endpoint_id}": (EndpointNotFound, InvalidEndpoint),
    "POST /partner/v1/webhooks/{endpoint_id}/secret": (EndpointNotFound,),
    "GET /admin/v1/webhooks/deliveries": (Forbidden, NotFound),
    "POST /admin/v1/webhooks/deliveries/{delivery_id}/resend": (Forbidden, DeliveryNotFound,
                                                                 EndpointDisabled),
    # residents: session, account
    "POST /api/v1/auth/session": (Unauthorized, AssertionInvalid, AssertionReplayed,
                                   IdpNotConfigured, RATE_LIMITED),
    "DELETE /api/v1/auth/session": (),
    "GET /api/v1/me": (),
    "DELETE /api/v1/me": (),
    "POST /ingest/v1/records": (RATE_LIMITED,),
    "GET /api/v1/me/score": (ConsentRequired, NotFound),
    "GET /api/v1/me/score/history": (),
    "POST /api/v1/me/score/simulate": (ConsentRequired, NotFound, SimulationInvalid),
    "GET /api/v1/model": (NotFound,),
    "GET /api/v1/model/spec": (NotFound,),
    # consent
    "GET /api/v1/notices": (InvalidInput,),
    "GET /api/v1/notices/{notice_id}": (NoticeNotFound,),
    "GET /api/v1/me/consents": (),
    "POST /api/v1/me/consents": (NoticeNotFound, NoticeSuperseded, CategoriesInvalid,
                                 SeparateConsentRequired, ConsentConflict),
    "GET /api/v1/me/consents/{consent_id}": (ConsentNotFound,),
    "POST /api/v1/me/consents/{consent_id}/withdraw": (ConsentNotFound, ConsentNotActive,
                                                       ConsentConflict),
    "GET /api/v1/me/consents/{consent_id}/receipt": (ConsentNotFound, NotFound),
    "GET /api/v1/me/consent-history": (),
    "POST /api/v1/receipts/verify": (),
    "GET /admin/v1/consents/export": (Forbidden,),
    "GET /admin/v1/residents/{resident_id}/consents": (Forbidden,),
    # scenarios, entitlements, tokens
    "GET /api/v1/scenarios": (),
    "GET /api/v1/scenarios/{code}/partners": (UnknownScenario, ScenarioNotAvailable),
    "GET /admin/v1/scenarios": (),
    "PUT /admin/v1/scenarios/{code}": (Forbidden, UnknownScenario, InvalidScenario),
    "PATCH /admin/v1/scenarios/{code}": (Forbidden, UnknownScenario, InvalidScenario),
    "GET /admin/v1/scenarios/{code}/notices": (),
    "POST /admin/v1/scenarios/{code}/notices": (Forbidden, UnknownScenario, NoticeInvalid),
    "GET /api/v1/me/entitlements": (),
    "POST /api/v1/me/tokens": (ConsentRequired, NotEligible, UnknownScenario,
                               ScenarioNotAvailable, UnknownPartner, PartnerNotServing,
                               RATE_LIMITED),
    "GET /api/v1/me/access-log": (),
    # A token that fails is {"active": false}; 429 past a partner's limit of wrong codes.
    "POST /partner/v1/tokens/introspect": (RATE_LIMITED,),
    "POST /partner/v1/tokens/consume": (*TOKEN_USE, UseDeclined, TokenHasOwnCall, LimitExceeded,
                                        UnknownScenario, ScenarioNotAvailable,
                                        IdempotencyConflict),
    "GET /api/v1/me/notifications": (),
    "POST /api/v1/me/notifications/read": (),
    # rights
    "GET /api/v1/me/records": (),
    "GET /api/v1/me/records/{record_id}/repair": (RecordNotFound,),
    "GET /api/v1/me/disputes": (),
    "POST /api/v1/me/disputes": (RecordNotFound, AlreadyDisputed, NotDisputable,
                                 *RESIDENT_NOTES),
    "GET /api/v1/me/repairs": (),
    "POST /api/v1/me/repairs": (RecordNotFound, RepairNotEligible, RepairPending,
                                *RESIDENT_NOTES),
    "GET /api/v1/me/review-requests": (),
    "POST /api/v1/me/review-requests": (ConsentRequired, UnknownScenario, InvalidInput,
                                        *RESIDENT_NOTES),
    "GET /api/v1/me/export": (),
    "GET /api/v1/me/erasure": (),
    "GET /api/v1/me/export/schema": (),
    "GET /admin/v1/disputes": (Forbidden,),
    "GET /admin/v1/disputes/{dispute_id}": (Forbidden, DisputeNotFound),
    "POST /admin/v1/disputes/{dispute_id}/resolve": (Forbidden, DisputeNotFound, InvalidCorrection,
                                                     AlreadyDecided,
                                                     InvalidText, InvalidInput),
    "GET /admin/v1/repairs": (Forbidden,),
    "GET /admin/v1/repairs/{repair_id}": (Forbidden, RepairNotFound),
    "POST /admin/v1/repairs/{repair_id}/decide": (Forbidden, RepairNotFound, AlreadyDecided,
                                                  InvalidText, InvalidInput),
    "GET /admin/v1/reviews": (Forbidden,),
    "GET /admin/v1/reviews/{review_id}": (Forbidden, ReviewNotFound),
    "POST /admin/v1/reviews/{review_id}/decide": (Forbidden, ReviewNotFound, AlreadyDecided,
                                                  InvalidText, InvalidInput, RecordNotFound,
                                                  InvalidCorrection, UnknownScenario,
                                                  ScenarioNotAvailable),
    # 先诊后付 (medical credit)
    "POST /partner/v1/medical-credit/authorizations": (
        Forbidden, *TOKEN_USE, CreditDeclined, LimitExceeded, UnknownScenario,
        IdempotencyConflict),
    "POST /partner/v1/medical-credit/authorizations/{authorization_id}/capture": (
        Forbidden, AuthorizationNotFound, AuthorizationClosed, AmountExceedsHold,
        IdempotencyConflict),
    "POST /partner/v1/medical-credit/authorizations/{authorization_id}/void": (
        Forbidden, AuthorizationNotFound, AuthorizationClosed),
    "POST /partner/v1/medical-credit/bills/{bill_id}/payments": (
        Forbidden, BillNotFound, PaymentExceedsDebt, IdempotencyConflict),
    "GET /api/v1/me/medical-credit": (),
    "GET /partner/v1/medical-credit/authorizations": (Forbidden,),
    # counter staff (core.staff)
    "POST /partner/v1/staff/sessions": (Unauthorized, RATE_LIMITED),
    "GET /partner/v1/staff/sessions/current": (),
    "DELETE /partner/v1/staff/sessions/current": (),
    "GET /partner/v1/staff": (Forbidden,),
    "POST /partner/v1/staff": (Forbidden, StaffExists, StaffInvalid),
    "DELETE /partner/v1/staff/{username}": (Forbidden, StaffNotFound),
    "GET /admin/v1/partners/{client_id}/staff": (Forbidden, NotFound),
    "POST /admin/v1/partners/{client_id}/staff": (Forbidden, NotFound, StaffExists,
                                                  StaffInvalid),
    "DELETE /admin/v1/partners/{client_id}/staff/{username}": (Forbidden, NotFound,
                                                               StaffNotFound),
    # deposit waivers
    "POST /partner/v1/deposit-waivers": (
        Forbidden, *TOKEN_USE, WaiverDeclined, LimitExceeded, InvalidDeposit,
        UnknownScenario, IdempotencyConflict),
    "POST /partner/v1/deposit-waivers/{waiver_id}/complete": (Forbidden, WaiverNotFound),
    "POST /partner/v1/deposit-waivers/{waiver_id}/default": (Forbidden, WaiverNotFound,
                                                             WaiverClosed, WaiverNotDue),
    "GET /api/v1/me/deposit-waivers": (),
    # settlement (hospitals and deposit partners)
    "GET /partner/v1/settlement/holds": (Forbidden, InvalidCursor),
    "GET /partner/v1/settlement/bills": (Forbidden, InvalidCursor),
    "GET /partner/v1/settlement/waivers": (Forbidden, InvalidCursor),
    "GET /partner/v1/settlement/statement": (Forbidden,),
    "GET /admin/v1/settlement/statements/{client_id}": (Forbidden, UnknownPartner),
    # points
    "POST /partner/v1/points/redemptions": (
        Forbidden, *TOKEN_USE, UseDeclined, LimitExceeded,
        IdempotencyConflict, Conflict),
    "GET /partner/v1/points/redemptions/{redemption_id}": (Forbidden, RedemptionNotFound),
    "POST /partner/v1/points/redemptions/{redemption_id}/refund": (
        Forbidden, RedemptionNotFound, RefundExceedsRedemption, IdempotencyConflict, Conflict),
    "GET /partner/v1/points/statement": (Forbidden, InvalidPeriod),
    "GET /api/v1/me/points": (),
    "GET /admin/v1/points/statements/{client_id}": (Forbidden, UnknownPartner, InvalidPeriod),
    "GET /admin/v1/points/reconciliation": (Forbidden,),
    # the audit log (auditors)
    "GET /admin/v1/audit/entries": (Forbidden,),
    "GET /admin/v1/audit/checkpoints": (Forbidden,),
    "GET /admin/v1/audit/verify": (Forbidden,),
    # reports
    "GET /api/v1/me/reports": (),
    "POST /api/v1/me/reports": (ConsentRequired, ReportInvalid, RATE_LIMITED),
    "GET /api/v1/me/reports/{report_id}": (ReportNotFound, ReportGone),
    "GET /api/v1/me/reports/{report_id}/pdf": (ReportNotFound, ReportGone),
    "GET /api/v1/me/reports/{report_id}/html": (ReportNotFound, ReportGone),
    "GET /api/v1/me/reports/{report_id}/signed": (ReportNotFound, ReportGone),
    "POST /api/v1/me/reports/{report_id}/revoke": (ReportNotFound,),
    "GET /reports/verify": (RATE_LIMITED,),
    "POST /reports/verify": (RATE_LIMITED,),
    # development only (PENGCHENG_ENV=development): the demo sign-in and payment
    "GET /api/v1/auth/demo/residents": (),
    "POST /api/v1/auth/demo": (NotFound, InvalidInput),
    "POST /api/v1/me/medical-credit/bills/{bill_id}/demo-payment": (
        BillNotFound, PaymentExceedsDebt),
}


def generic(operation: str, schemes: Iterable[str]) -> tuple[Refusal, ...]:
    """What any operation of this method and security can answer, whatever it does."""
    method, _, path = operation.partition(" ")
    found = [URI_TOO_LONG, HEADER_TOO_LARGE, VALIDATION_FAILED]
    if method in BODY_METHODS:
        found += [BAD_REQUEST, MALFORMED_JSON, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE]
    if "{" in operation:
        found.append(NO_ROUTE)  # werkzeug's converters (<uuid:…>) refuse before the view runs
    if any(schemes):
        found.append(Refusal.of(Unauthorized))
    if "partnerKey" in schemes:  # a counter staff session outside the counter's calls (app.auth)
        found.append(Refusal.of(Forbidden))
    if operation not in NO_DATABASE:
        found += [DATABASE_UNAVAILABLE, DATABASE_BUSY]
    if method != "GET" and path.startswith(("/api/v1/me/", "/partner/v1/")):
        found.append(RESIDENT_BUSY)
    return tuple(found)


def refusals(operation: str, schemes: Iterable[str] = ()) -> tuple[Refusal, ...]:
    """Every refusal of `operation` ("METHOD /path"), sorted by status and code, once each."""
    own = [e if isinstance(e, Refusal) else Refusal.of(e) for e in OPERATIONS.get(operation, ())]
    by_code = {r.code: r for r in (*generic(operation, schemes), *own)}
    return tuple(sorted(by_code.values()))
