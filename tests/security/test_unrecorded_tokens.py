"""A token is live only if its issue is recorded (`pc_token_state`, reason `unrecorded`).

Attacks on that promise:
- **a signature is not enough**: whoever holds the token signing key (stolen, or a token's
  claims edited and signed again) cannot make a token the service never issued, nor turn a
  real one into another scenario's: the row `issued_tokens` keeps (jti, resident, scenario);
- **a missing row fails closed**: a token whose row is gone (deleted, or lost with a restore)
  is refused everywhere, never used without the limits its row kept (before, a redemption
  without the row had no per-order cap and a consumption no discount limit).
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select, text

from app.runtime import runtime
from rewards.errors import TokenRevoked
from rewards.models import ConsumedToken
from tests.support.medical_credit import Credit
from tests.support.tokens import ask_token, claims_of, consume_as, introspect, signed

UNRECORDED = "this service has no record of issuing the token"


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def _consumed(app) -> int:
    with app.app_context(), runtime().uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ConsumedToken)) or 0)


def _refused_everywhere(credit: Credit, client, app, token: str) -> None:
    """Inactive to introspection, and refused `token_revoked` by a hold and a consumption;
    nothing used up."""
    assert introspect(client, credit.hospital_key, token).get_json() == {"active": False}
    hold = credit.authorize(100, token=token)
    assert hold.status_code == 403, hold.get_json()
    assert hold.get_json()["code"] == "token_revoked"
    with pytest.raises(TokenRevoked) as caught:
        consume_as(app, credit.hospital, token)
    assert caught.value.detail == UNRECORDED
    assert _consumed(app) == 0


@pytest.mark.services
def test_a_token_signed_with_our_key_but_never_issued_is_refused(credit, client, app):
    real = claims_of(credit.token())
    forged = signed(app, {**real, "jti": secrets.token_urlsafe(16)})
    _refused_everywhere(credit, client, app, forged)


@pytest.mark.services
def test_a_real_token_signed_again_for_another_scenario_is_refused(credit, client, app):
    """The jti of a real 先诊后付 token, with the resident's own pseudonym at the bike partner:
    every claim a stolen key can sign is genuine but the scenario, which the row does not hold."""
    at_bikes = claims_of(credit.token("deposit_waiver_bike", credit.bikes))
    real = claims_of(credit.token())
    forged = signed(app, {**at_bikes, "jti": real["jti"]})
    assert introspect(client, credit.bikes_key, forged).get_json() == {"active": False}
    with pytest.raises(TokenRevoked) as caught:
        consume_as(app, credit.bikes, forged, scenario="deposit_waiver_bike")
    assert caught.value.detail == UNRECORDED
    assert _consumed(app) == 0


@pytest.mark.services
def test_a_token_whose_row_is_gone_is_refused_and_its_code_unknown(credit, client, app):
    answer = ask_token(client, credit.resident, "medical_credit",
                       credit.hospital.client_id).get_json()
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(text("DELETE FROM issued_tokens WHERE jti = :jti"),
                            {"jti": claims_of(answer["token"])["jti"]})
        uow.commit()
    assert introspect(client, credit.hospital_key, answer["code"]).get_json() == {"active": False}
    _refused_everywhere(credit, client, app, answer["token"])
