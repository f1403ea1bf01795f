"""Counter staff accounts (issue 20, item 4): a partner, an operator or the CLI adds them; a
cashier signs in with their own password and gets a short session that acts for the partner in
the counter's calls only; every hold, capture and void names the staff member, while the
resident's access log names the hospital; a removed account stops at once."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from sqlalchemy import select

from app.auth import COUNTER_CALLS
from app.runtime import runtime
from core.audit import AuditEntry
from core.staff import PartnerStaff, StaffSession
from rewards.credit.models import CreditBill, CreditHold
from tests.support.factories import bearer, cli, new_operator, new_partner
from tests.support.medical_credit import BASE, Credit, problem

STAFF = "/partner/v1/staff"
SESSIONS = f"{STAFF}/sessions"
PASSWORD = "counter-pass-2026"


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def add(client, key: str, username: str = "zhang.wei", name: str = "张伟",
        password: str = PASSWORD):
    return client.post(STAFF, headers=bearer(key),
                       json={"username": username, "name": name, "password": password})


def sign_in(client, client_id: str, username: str = "zhang.wei", password: str = PASSWORD):
    return client.post(SESSIONS, json={"client_id": client_id, "username": username,
                                       "password": password})


def session_of(client, partner, key: str, username: str = "zhang.wei") -> str:
    assert add(client, key, username, f"收费员{username}").status_code == 201
    response = sign_in(client, partner.client_id, username)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def rows(app, model, *where):
    with app.app_context(), runtime().uow() as uow:
        return list(uow.session.scalars(select(model).where(*where)))


def test_a_partner_adds_lists_and_removes_its_staff_and_no_answer_or_row_holds_a_password(
        app, client, caplog):
    hospital, key = new_partner(app, "hospital", ["medical_credit"])
    caplog.set_level(logging.DEBUG)
    added = add(client, key)
    assert added.status_code == 201, added.get_json()
    assert set(added.get_json()) == {"staff_id", "username", "name", "active", "created_at",
                                     "removed_at"}
    assert added.get_json()["active"] is True
    listed = client.get(STAFF, headers=bearer(key)).get_json()["items"]
    assert [m["username"] for m in listed] == ["zhang.wei"]

    (row,) = rows(app, PartnerStaff)
    assert row.password_hash.startswith("scrypt$32768$8$3$") and PASSWORD not in row.password_hash
    assert PASSWORD not in caplog.text
    audited = rows(app, AuditEntry, AuditEntry.action == "partner.staff_added")
    assert len(audited) == 1 and audited[0].actor == f"partner:{hospital.client_id}"
    assert "zhang.wei" not in json.dumps(audited[0].data, ensure_ascii=False)

    problem(add(client, key), 409, "staff_exists")
    problem(add(client, key, "Bad Name!"), 422, "staff_invalid")
    problem(add(client, key, "li.na", password="short"), 422, "staff_invalid")

    removed = client.delete(f"{STAFF}/zhang.wei", headers=bearer(key))
    assert removed.status_code == 200 and removed.get_json()["active"] is False
    assert client.delete(f"{STAFF}/zhang.wei", headers=bearer(key)).get_json() == \
        removed.get_json()
    problem(client.delete(f"{STAFF}/nobody", headers=bearer(key)), 404, "staff_not_found")
    problem(add(client, key), 409, "staff_exists")  # holds name the removed account


def test_one_partner_cannot_see_or_remove_another_partners_staff(app, client):
    _first, first_key = new_partner(app, "hospital", ["medical_credit"])
    _second, second_key = new_partner(app, "hospital", ["medical_credit"])
    assert add(client, first_key).status_code == 201
    assert client.get(STAFF, headers=bearer(second_key)).get_json()["items"] == []
    problem(client.delete(f"{STAFF}/zhang.wei", headers=bearer(second_key)), 404,
            "staff_not_found")
    assert add(client, second_key).status_code == 201  # usernames are per partner


def test_an_admin_operator_and_the_cli_manage_any_partners_staff(app, client):
    hospital, _key = new_partner(app, "hospital", ["medical_credit"])
    _admin, admin_key = new_operator(app, "admin")
    _reviewer, reviewer_key = new_operator(app, "reviewer")
    where = f"/admin/v1/partners/{hospital.client_id}/staff"
    body = {"username": "wang.fang", "name": "王芳", "password": PASSWORD}
    problem(client.post(where, headers=bearer(reviewer_key), json=body), 403, "forbidden")
    assert client.post(where, headers=bearer(admin_key), json=body).status_code == 201
    assert [m["username"] for m in client.get(where, headers=bearer(admin_key))
            .get_json()["items"]] == ["wang.fang"]
    problem(client.get("/admin/v1/partners/ptn_nobody/staff", headers=bearer(admin_key)),
            404, "not_found")
    assert client.delete(f"{where}/wang.fang", headers=bearer(admin_key)).get_json()[
        "active"] is False
    audited = rows(app, AuditEntry, AuditEntry.action.like("partner.staff_%"))
    assert {(e.action, e.actor) for e in audited} == {
        ("partner.staff_added", f"operator:{_admin.client_id}"),
        ("partner.staff_removed", f"operator:{_admin.client_id}")}

    from click.testing import CliRunner  # the password is prompted for, never an argument
    from flask.cli import ScriptInfo

    from app.cli import main

    runner = CliRunner()
    made = runner.invoke(main, ["partners", "staff", "add", hospital.client_id, "li.na",
                                "--name", "李娜"], input=f"{PASSWORD}\n{PASSWORD}\n",
                         obj=ScriptInfo(create_app=lambda: app))
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output
    assert sign_in(client, hospital.client_id, "li.na").status_code == 201
    listed = cli(app, "partners", "staff", "list", hospital.client_id)
    assert [json.loads(line)["username"] for line in listed.output.splitlines()] == [
        "li.na", "wang.fang"]
    gone = cli(app, "partners", "staff", "remove", hospital.client_id, "li.na")
    assert gone.exit_code == 0 and json.loads(gone.output)["active"] is False
    refused = cli(app, "partners", "staff", "remove", hospital.client_id, "nobody")
    assert refused.exit_code == 1 and "没有该收费员" not in refused.output


def test_a_cashier_signs_in_sees_who_they_are_and_signs_out(app, client, clock):
    hospital, key = new_partner(app, "hospital", ["medical_credit"])
    token = session_of(client, hospital, key)
    assert token.startswith("ss_")
    me = client.get(f"{SESSIONS}/current", headers=bearer(token)).get_json()
    assert me == {"staff": {**me["staff"], "username": "zhang.wei", "name": "收费员zhang.wei",
                            "active": True},
                  "partner": {"client_id": hospital.client_id, "name": hospital.name}}
    (stored,) = rows(app, StaffSession)
    assert stored.token_hash != token
    assert (stored.expires_at - stored.created_at).total_seconds() == 8 * 3600

    assert client.delete(f"{SESSIONS}/current", headers=bearer(token)).status_code == 204
    problem(client.get(f"{SESSIONS}/current", headers=bearer(token)), 401, "unauthorized")
    problem(client.get(f"{BASE}/authorizations", headers=bearer(token)), 401, "unauthorized")

    later = sign_in(client, hospital.client_id).get_json()["token"]
    clock.advance(hours=8)
    problem(client.get(f"{SESSIONS}/current", headers=bearer(later)), 401, "unauthorized")


def test_a_wrong_password_an_unknown_name_and_another_hospital_get_one_answer(app, client):
    hospital, key = new_partner(app, "hospital", ["medical_credit"])
    other, _other_key = new_partner(app, "hospital", ["medical_credit"])
    assert add(client, key).status_code == 201
    answers = [problem(response, 401, "unauthorized") for response in (
        sign_in(client, hospital.client_id, password="wrong-password-1"),
        sign_in(client, hospital.client_id, "nobody"),
        sign_in(client, other.client_id),
        sign_in(client, "ptn_nobody"))]
    assert len({(a["detail"], a.get("detail_zh")) for a in answers}) == 1


def test_sign_ins_are_limited_per_account_and_the_right_password_waits_too(app, client):
    hospital, key = new_partner(app, "hospital", ["medical_credit"])
    assert add(client, key).status_code == 201
    assert add(client, key, "li.na").status_code == 201
    for _ in range(5):
        problem(sign_in(client, hospital.client_id, password="guess-guess-1"), 401,
                "unauthorized")
    refused = sign_in(client, hospital.client_id)  # RATE_LIMIT_LOGIN_IDENTITY: 5 a minute
    problem(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) > 0
    assert sign_in(client, hospital.client_id, "li.na").status_code == 201  # others still can


def test_removing_a_cashier_ends_their_sessions_at_once(app, client):
    hospital, key = new_partner(app, "hospital", ["medical_credit"])
    token = session_of(client, hospital, key)
    assert client.get(f"{BASE}/authorizations", headers=bearer(token)).status_code == 200
    assert client.delete(f"{STAFF}/zhang.wei", headers=bearer(key)).status_code == 200
    problem(client.get(f"{BASE}/authorizations", headers=bearer(token)), 401, "unauthorized")
    problem(sign_in(client, hospital.client_id), 401, "unauthorized")
    assert all(s.revoked_at is not None for s in rows(app, StaffSession))


def test_a_deactivated_partner_stops_its_cashiers_sessions(app, client):
    hospital, key = new_partner(app, "hospital", ["medical_credit"])
    token = session_of(client, hospital, key)
    assert cli(app, "partners", "deactivate", hospital.client_id).exit_code == 0
    problem(client.get(f"{BASE}/authorizations", headers=bearer(token)), 401, "unauthorized")


def test_a_staff_session_is_refused_by_every_partner_call_but_the_counters(app, client):
    hospital, key = new_partner(app, "hospital", ["medical_credit"])
    token = session_of(client, hospital, key)
    # Over HTTP: staff accounts, webhooks, another scenario's call, operators, residents.
    for method, path, body in (
            ("GET", STAFF, None), ("POST", STAFF, {"username": "mole", "name": "x",
                                                   "password": PASSWORD}),
            ("DELETE", f"{STAFF}/zhang.wei", None), ("GET", "/partner/v1/webhooks", None),
            ("POST", "/partner/v1/tokens/consume", {"token": "x", "out_use_no": "u-1"})):
        problem(client.open(path, method=method, headers=bearer(token), json=body), 403,
                "forbidden")
    for path in ("/admin/v1/audit/entries", f"/admin/v1/partners/{hospital.client_id}/staff",
                 "/api/v1/me"):
        problem(client.get(path, headers=bearer(token)), 401, "unauthorized")
    assert rows(app, PartnerStaff, PartnerStaff.username == "mole") == []

    # Every partner call the app routes, through the one decision (`app.auth.partner`):
    from app import auth
    from core.errors import Forbidden

    decided = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/partner/") or rule.rule.startswith(SESSIONS):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<uuid:{name}>", str(uuid.uuid4())).replace(
                    f"<string:{name}>", "x").replace(f"<{name}>", "x")
            with app.test_request_context(path, method=method, headers=bearer(token)), \
                    runtime().uow() as uow:
                try:
                    auth.partner(uow)
                    decided[f"{method} {rule.rule}"] = "accepted"
                except Forbidden:
                    decided[f"{method} {rule.rule}"] = "refused"
    assert {call for call, verdict in decided.items() if verdict == "accepted"} == COUNTER_CALLS
    assert len(decided) > len(COUNTER_CALLS) + 10


def test_holds_captures_and_voids_name_the_cashier_and_the_access_log_names_the_hospital(
        credit, app, client):
    first = session_of(client, credit.hospital, credit.hospital_key, "zhang.wei")
    second = session_of(client, credit.hospital, credit.hospital_key, "li.na")
    staff = {m.username: m.id for m in rows(app, PartnerStaff)}

    held = credit.authorize(30000, key=first).get_json()
    assert held["authorization_id"], held
    bill = credit.capture(held["authorization_id"], 25680, key=second)
    assert bill.status_code == 201, bill.get_json()
    other = credit.authorize(12000, key=second).get_json()
    assert credit.void(other["authorization_id"], key=first).status_code == 200
    by_key = credit.authorize(5000).get_json()  # the API key: nobody named

    holds = {str(h.id): h for h in rows(app, CreditHold)}
    assert holds[held["authorization_id"]].staff_id == staff["zhang.wei"]
    assert holds[other["authorization_id"]].staff_id == staff["li.na"]
    assert holds[other["authorization_id"]].voided_by == staff["zhang.wei"]
    assert holds[by_key["authorization_id"]].staff_id is None
    (posted,) = rows(app, CreditBill)
    assert posted.staff_id == staff["li.na"]

    log = client.get("/api/v1/me/access-log", headers=bearer(credit.resident)).get_json()
    used = [e for e in log["items"] if e.get("action") == "consume"]
    assert len(used) == 3
    text = json.dumps(log, ensure_ascii=False)
    assert credit.hospital.name in text
    for leak in ("zhang.wei", "li.na", "收费员", *(str(i) for i in staff.values())):
        assert leak not in text


def test_the_counter_page_never_asks_for_an_api_key(client):
    page = client.get("/counter/").get_data(as_text=True)
    with client.get("/static/h5/js/counter.js") as response:
        script = response.get_data(as_text=True)
    assert 'autocomplete="current-password"' in page and 'id="staff-username"' in page
    for text in (page, script):
        assert "api-key" not in text and "api_key" not in text and "接口密钥" not in text
    assert "/partner/v1/staff/sessions" in script


def test_a_cashier_acts_for_their_own_hospital_only(credit, client):
    theirs = session_of(client, credit.hospital, credit.hospital_key)
    others = credit.hold(20000)  # placed by the hospital's own API key
    problem(credit.authorize(1000, key=theirs, token=credit.token(partner=credit.other)), 422,
            "token_wrong_audience")
    foreign = credit.authorize(1000, key=credit.other_key,
                               token=credit.token(partner=credit.other)).get_json()
    problem(credit.void(foreign["authorization_id"], key=theirs), 404,
            "authorization_not_found")
    problem(credit.capture(foreign["authorization_id"], 500, key=theirs), 404,
            "authorization_not_found")
    listed = client.get(f"{BASE}/authorizations", headers=bearer(theirs)).get_json()["items"]
    assert [h["authorization_id"] for h in listed] == [others["authorization_id"]]
    assert listed[0]["placed_by"] is None and listed[0]["sub"] == others["sub"]


def test_a_stored_hash_that_is_not_one_never_matches_and_never_raises():
    from core.staff import hash_password, password_matches

    stored = hash_password(PASSWORD)
    assert password_matches(stored, PASSWORD)
    assert not password_matches(stored, PASSWORD + "x")
    for broken in ("", "scrypt$1$2$3", stored.replace("scrypt", "bcrypt"),
                   "scrypt$x$8$1$AAAA$AAAA", stored[:-8] + "!!!!!!!!",
                   stored.rsplit("$", 1)[0] + "$" + stored.rsplit("$", 1)[1][:24]):
        assert not password_matches(broken, PASSWORD), broken
