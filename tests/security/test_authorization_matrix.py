"""Every operation of the OpenAPI document against every kind of caller it must refuse.

Generic over /openapi.json: an operation added later is covered without editing this file. Each
call carries a body and query that pass validation, so the refusal comes from the credential
check; after all refused calls the database is exactly as before.
"""

from __future__ import annotations

from typing import Any

from tests.security.actors import (
    PARTNER_KINDS,
    ROLES,
    SCHEMES,
    STAFF_CALLS,
    WRITES,
    operations,
    operator_roles,
    partner_kind,
    scheme_of,
)
from tests.security.estate import Estate, fingerprint
from tests.security.openapi import request_for
from tests.support.factories import bearer

PROBLEM = "application/problem+json"

# Operations anyone may call: public keys, health, login, the notice and scenario catalogue,
# receipt and report verification (a third party holds the receipt or report), the export's
# JSON Schema, the model card and spec (anyone may recompute a score), a cashier's sign-in; the
# demo login exists only in development mode.
PUBLIC = {
    ("GET", "/api/v1/model"),
    ("GET", "/api/v1/model/spec"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/receipt-keys.json"),
    ("GET", "/.well-known/report-keys.json"),
    ("GET", "/.well-known/audit-keys.json"),
    ("GET", "/healthz"),
    ("POST", "/api/v1/auth/session"),
    ("POST", "/partner/v1/staff/sessions"),
    ("GET", "/api/v1/notices"),
    ("GET", "/api/v1/notices/{notice_id}"),
    ("POST", "/api/v1/receipts/verify"),
    ("GET", "/api/v1/scenarios"),
    ("GET", "/api/v1/scenarios/{code}/partners"),
    ("GET", "/api/v1/me/export/schema"),
    ("GET", "/reports/verify"),
    ("POST", "/reports/verify"),
    ("GET", "/api/v1/auth/demo/residents"),
    ("POST", "/api/v1/auth/demo"),
}


def callers(estate: Estate) -> list[tuple[str, str, str]]:
    """(scheme it belongs to, label, credential) for every actor of the cast."""
    out = [("residentSession", "resident", estate.resident),
           ("sourceKey", "source", estate.source_key)]
    out += [("partnerKey", f"partner:{k}", estate.partner_key(k)) for k in PARTNER_KINDS]
    out += [("operatorKey", f"operator:{r}", estate.operator_key(r)) for r in ROLES]
    out += [("staffSession", "staff", estate.staff_session())]
    return out


def refused_by(scheme: str, method: str, path: str, label: str) -> bool:
    """Whether the holder of `label` must be refused by a `scheme` operation at `path`."""
    kind, _, sub = label.partition(":")
    if kind == "staff":  # the hospital's cashier: only the counter's calls
        return scheme != "staffSession" and (method, path) not in STAFF_CALLS
    if scheme == "partnerKey" and kind == "partner":
        wanted = partner_kind(path)
        return wanted is not None and sub not in wanted.split("|")
    if scheme == "operatorKey" and kind == "operator":
        allowed = operator_roles(method, path)
        if allowed is None:  # not in the policy yet: at least auditors never write
            return sub == "auditor" and method in WRITES
        return sub not in allowed
    return {"residentSession": "resident", "partnerKey": "partner", "sourceKey": "source",
            "operatorKey": "operator", "staffSession": "staff"}[scheme] != kind


def assert_refused(response: Any, statuses: tuple[int, ...], what: str) -> None:
    assert response.status_code in statuses, (what, response.status_code,
                                              response.get_data(as_text=True)[:300])
    assert response.mimetype == PROBLEM, (what, response.mimetype)
    assert response.get_json()["status"] == response.status_code, what


def test_every_operation_is_protected_or_known_to_be_public(document: dict) -> None:
    found = {(m, p): scheme_of(op) for m, p, op in operations(document)}
    unprotected = {key for key, scheme in found.items() if scheme is None}
    assert unprotected <= PUBLIC, f"operations without a security scheme: {unprotected - PUBLIC}"
    assert {s for s in found.values() if s} <= set(SCHEMES)


def test_every_protected_operation_refuses_a_caller_without_credentials(
        estate: Estate, document: dict) -> None:
    before = fingerprint(estate.app)
    checked = 0
    for method, path, op in operations(document):
        if scheme_of(op) is None:
            continue
        kwargs = request_for(document, method, path, op)
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwdw=="},
                        bearer("not-a-credential")):
            response = estate.client.open(headers=headers, **kwargs)
            assert_refused(response, (401,), f"{method} {path} {headers}")
            checked += 1
    assert checked >= 4 * 50
    assert fingerprint(estate.app) == before


def test_every_protected_operation_refuses_the_wrong_kind_of_credential(
        estate: Estate, document: dict) -> None:
    before = fingerprint(estate.app)
    refusals = 0
    for method, path, op in operations(document):
        scheme = scheme_of(op)
        if scheme is None:
            continue
        kwargs = request_for(document, method, path, op)
        for _owner, label, credential in callers(estate):
            if refused_by(scheme, method, path, label):
                response = estate.client.open(headers=bearer(credential), **kwargs)
                assert_refused(response, (401, 403), f"{method} {path} as {label}")
                refusals += 1
    assert refusals >= 300
    assert fingerprint(estate.app) == before


def test_every_protected_operation_admits_the_callers_it_serves(
        estate: Estate, document: dict) -> None:
    """The other side of the matrix: the right credential gets past the credential check."""
    for method, path, op in operations(document):
        scheme = scheme_of(op)
        if scheme is None or (method, path) in {
                ("DELETE", "/api/v1/me"), ("DELETE", "/api/v1/auth/session"),
                ("DELETE", "/partner/v1/staff/sessions/current")}:
            continue  # erasure and logout end the session the other checks use
        kwargs = request_for(document, method, path, op)
        for _owner, label, credential in callers(estate):
            serves = _owner == scheme or (_owner == "staffSession"
                                          and (method, path) in STAFF_CALLS)
            if serves and not refused_by(scheme, method, path, label):
                response = estate.client.open(headers=bearer(credential), **kwargs)
                body = response.get_json(silent=True) or {}
                assert response.status_code != 401, (method, path, label, body)
                assert body.get("code") != "forbidden", (method, path, label, body)


def test_operator_roles_are_separated(estate: Estate, document: dict) -> None:
    """Auditors never change anything; only admins edit the catalogue; only auditors export."""
    auditor_writes = [(m, p) for m, p, op in operations(document)
                      if scheme_of(op) == "operatorKey" and m in WRITES]
    assert auditor_writes, "no operator write operation found"
    for method, path in auditor_writes:
        allowed = operator_roles(method, path)
        assert allowed is None or "auditor" not in allowed, (method, path)
    assert operator_roles("PUT", "/admin/v1/scenarios/{code}") == {"admin"}
    assert operator_roles("GET", "/admin/v1/consents/export") == {"auditor"}
