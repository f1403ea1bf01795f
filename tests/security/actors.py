"""Every kind of caller with valid credentials, and which credential an operation expects.

Used by the fuzzing run (tests/fuzz) and the security review (tests/security). The operation's
OpenAPI security scheme (residentSession / partnerKey / sourceKey / operatorKey / staffSession)
names the kind of caller; for partner operations the path names the partner kind, for operator
operations `OPERATOR_POLICY` names the roles allowed; a counter staff session may also make the
counter's partner calls (`STAFF_CALLS`).
"""

from __future__ import annotations

from typing import Any

from tests.support.factories import bearer, new_operator, new_partner
from tests.support.tokens import World, grant

SCHEMES = ("residentSession", "partnerKey", "sourceKey", "operatorKey", "staffSession")
PARTNER_KINDS = ("hospital", "deposit_partner", "merchant", "payment_channel")
ROLES = ("admin", "reviewer", "auditor")
WRITES = ("POST", "PUT", "PATCH", "DELETE")

# Longest prefix first: bill payments are the payment channel's, the rest of 先诊后付 the
# hospital's. Partner paths not listed (token introspection) accept any partner kind.
PARTNER_KIND_BY_PATH = (
    ("/partner/v1/medical-credit/bills", "payment_channel"),
    ("/partner/v1/medical-credit", "hospital"),
    ("/partner/v1/deposit-waivers", "deposit_partner"),
    ("/partner/v1/points", "merchant"),
    ("/partner/v1/settlement/holds", "hospital"),
    ("/partner/v1/settlement/bills", "hospital"),
    ("/partner/v1/settlement/waivers", "deposit_partner"),
    ("/partner/v1/settlement/statement", "hospital|deposit_partner"),
)

# The partner calls a hospital's counter staff session may make (app.auth.COUNTER_CALLS).
STAFF_CALLS = frozenset({
    ("POST", "/partner/v1/tokens/introspect"),
    ("GET", "/partner/v1/medical-credit/authorizations"),
    ("POST", "/partner/v1/medical-credit/authorizations"),
    ("POST", "/partner/v1/medical-credit/authorizations/{authorization_id}/capture"),
    ("POST", "/partner/v1/medical-credit/authorizations/{authorization_id}/void"),
})
STAFF_PASSWORD = "cast-counter-2026"

ALL_ROLES = frozenset(ROLES)
DECIDERS = frozenset({"admin", "reviewer"})
# Who may call which operator endpoint (the 市信用办's separation of duties):
# admins manage the scenario catalogue; reviewers (and admins) decide disputes, repairs and
# reviews; auditors export consent evidence; everyone reads the queues.
OPERATOR_POLICY: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/admin/v1/scenarios"): ALL_ROLES,
    ("GET", "/admin/v1/webhooks/deliveries"): frozenset({"admin", "auditor"}),
    ("POST", "/admin/v1/webhooks/deliveries/{delivery_id}/resend"): frozenset({"admin"}),
    ("PUT", "/admin/v1/scenarios/{code}"): frozenset({"admin"}),
    ("PATCH", "/admin/v1/scenarios/{code}"): frozenset({"admin"}),
    ("GET", "/admin/v1/scenarios/{code}/notices"): ALL_ROLES,
    ("POST", "/admin/v1/scenarios/{code}/notices"): frozenset({"admin"}),
    ("GET", "/admin/v1/consents/export"): frozenset({"auditor"}),
    ("GET", "/admin/v1/residents/{resident_id}/consents"): frozenset({"auditor"}),
    ("GET", "/admin/v1/disputes"): ALL_ROLES,
    ("GET", "/admin/v1/disputes/{dispute_id}"): ALL_ROLES,
    ("POST", "/admin/v1/disputes/{dispute_id}/resolve"): DECIDERS,
    ("GET", "/admin/v1/repairs"): ALL_ROLES,
    ("GET", "/admin/v1/repairs/{repair_id}"): ALL_ROLES,
    ("POST", "/admin/v1/repairs/{repair_id}/decide"): DECIDERS,
    ("GET", "/admin/v1/reviews"): ALL_ROLES,
    ("GET", "/admin/v1/reviews/{review_id}"): ALL_ROLES,
    ("POST", "/admin/v1/reviews/{review_id}/decide"): DECIDERS,
    ("GET", "/admin/v1/points/statements/{client_id}"): frozenset({"admin", "auditor"}),
    ("GET", "/admin/v1/points/reconciliation"): frozenset({"admin", "auditor"}),
    ("GET", "/admin/v1/settlement/statements/{client_id}"): frozenset({"admin", "auditor"}),
    ("GET", "/admin/v1/partners/{client_id}/staff"): frozenset({"admin"}),
    ("POST", "/admin/v1/partners/{client_id}/staff"): frozenset({"admin"}),
    ("DELETE", "/admin/v1/partners/{client_id}/staff/{username}"): frozenset({"admin"}),
    ("GET", "/admin/v1/audit/entries"): frozenset({"auditor"}),
    ("GET", "/admin/v1/audit/checkpoints"): frozenset({"auditor"}),
    ("GET", "/admin/v1/audit/verify"): frozenset({"auditor"}),
}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation of an OpenAPI document; the operation's
    `parameters` include those declared once for its path."""
    out = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch"):
                merged = {**op, "parameters": [*shared, *op.get("parameters", [])]}
                out.append((method.upper(), path, merged))
    return out


def scheme_of(op: dict[str, Any]) -> str | None:
    """The security scheme an operation documents, or None for a public operation."""
    for requirement in op.get("security") or []:
        for name in requirement:
            return name
    return None


def partner_kind(path: str) -> str | None:
    """The partner kind a partner operation serves (None: any kind; several joined by `|`)."""
    for prefix, kind in PARTNER_KIND_BY_PATH:
        if path.startswith(prefix):
            return kind
    return None


def operator_roles(method: str, path: str) -> frozenset[str] | None:
    """The roles allowed to call an operator operation (None: not in the policy yet)."""
    return OPERATOR_POLICY.get((method, path))


def fuzz_role(method: str, path: str) -> str:
    """An operator role that may call the operation (the most privileged allowed)."""
    allowed = operator_roles(method, path) or ALL_ROLES
    return next(r for r in ROLES if r in allowed)


class Cast:
    """Valid credentials for each actor around one resident with a good score.

    The resident (World's: records, scoring and scenario consents) plus one partner of each
    kind registered for the scenarios its kind serves, the data source that pushed the
    resident's records, and an operator of each role.
    """

    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        self.app, self.client, self.idp = app, client, idp
        self.world = World(app, client, idp)
        self.resident = self.world.resident
        self.consents = {"scoring": self.world.scoring_consent, **self.world.consents}
        self.consents["points_redemption"] = grant(client, self.resident,
                                                   "scenario:points_redemption")
        merchant = new_partner(app, "merchant", ["points_redemption"])
        channel = new_partner(app, "payment_channel", ["medical_credit"])
        self.partners: dict[str, tuple[Any, str]] = {
            "hospital": (self.world.hospital, self.world.hospital_key),
            "deposit_partner": (self.world.bikes, self.world.bikes_key),
            "merchant": merchant,
            "payment_channel": channel,
        }
        self.source_key = self.world.source_key
        self.operators: dict[str, tuple[Any, str]] = {r: new_operator(self.app, r) for r in ROLES}
        self._staff = self._sign_in_a_cashier()

    def partner_key(self, kind: str) -> str:
        return self.partners[kind][1]

    def staff_session(self) -> str:
        return self._staff

    def _sign_in_a_cashier(self) -> str:
        """A counter staff session of the hospital, for a staff account of its own."""
        self._cashiers = getattr(self, "_cashiers", 0) + 1
        username = f"cast.cashier{self._cashiers}"
        hospital, key = self.partners["hospital"]
        added = self.client.post("/partner/v1/staff", headers=bearer(key), json={
            "username": username, "name": "收费员", "password": STAFF_PASSWORD})
        assert added.status_code == 201, added.get_json()
        response = self.client.post("/partner/v1/staff/sessions", json={
            "client_id": hospital.client_id, "username": username, "password": STAFF_PASSWORD})
        assert response.status_code == 201, response.get_json()
        token: str = response.get_json()["token"]
        return token

    def fresh_staff_session(self) -> str:
        """Another cashier's session, for a call that ends the one it uses (signing out)."""
        return self._sign_in_a_cashier()

    def operator_key(self, role: str) -> str:
        return self.operators[role][1]

    def credential(self, method: str, path: str, scheme: str | None) -> str | None:
        """The valid credential for an operation documenting `scheme` (None: public)."""
        if scheme == "residentSession":
            return self.resident
        if scheme == "partnerKey":
            return self.partner_key((partner_kind(path) or "hospital").split("|")[0])
        if scheme == "sourceKey":
            return self.source_key
        if scheme == "operatorKey":
            return self.operator_key(fuzz_role(method, path))
        if scheme == "staffSession":
            return self.staff_session()
        assert scheme is None, f"{method} {path}: unknown security scheme {scheme}"
        return None

    def headers(self, method: str, path: str, scheme: str | None) -> dict[str, str]:
        credential = self.credential(method, path, scheme)
        return bearer(credential) if credential else {}
