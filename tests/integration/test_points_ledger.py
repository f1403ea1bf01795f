"""The database guards the ledger: insert-only journal, non-negative balances, unique keys,
zero-sum transfers; and random sequences of earn / redeem / refund / expire keep every
invariant (Hypothesis), redeeming through the partner service (`redeem`: one `pc_redeem`
statement each, a partner's first redemption and lots past their expiry included).
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.runtime import runtime
from core.identity import Person, create_partner, create_resident
from rewards.errors import LimitExceeded
from rewards.points import expiry, ledger
from rewards.points.earning import award
from rewards.points.errors import RefundExceedsRedemption
from rewards.points.models import Account, Leg, Redemption, Transfer
from rewards.points.redemption import redeem, refund
from tests.support.factories import T0, id_number
from tests.support.points import consent_to_redemption, token_for
from tests.support.statements import statements

PEOPLE = itertools.count(1)


def _resident(app: Any, n: int | None = None) -> uuid.UUID:
    """A new resident: ID number sequence `n`, or the next unused one (born 1950 onwards)."""
    if n is None:
        k = next(PEOPLE)
        number = id_number(k % 1000, born=date(1950, 1, 1) + timedelta(days=k // 1000))
    else:
        number = id_number(n)
    with app.app_context(), runtime().uow() as uow:
        resident = create_resident(uow.session, runtime().keyring,
                                   Person("测试", number, None), now=T0)
        uow.commit()
        return resident.id


def _earned(app: Any, points: int = 100) -> tuple[uuid.UUID, uuid.UUID]:
    """A resident with `points`; (resident id, account id)."""
    resident_id = _resident(app, 900)
    with app.app_context(), runtime().uow() as uow:
        assert award(uow.session, resident_id=resident_id, points=points, key="earn:t:1",
                     rule="t", now=T0, expires_at=T0 + timedelta(days=30))
        uow.commit()
        account = ledger.resident_account(uow.session, resident_id, T0)
        assert account is not None
        return resident_id, account


# -- what the database refuses -----------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE points_transfers SET kind = 'earn'",
    "DELETE FROM points_transfers",
    "UPDATE points_legs SET amount = amount * 2",
    "DELETE FROM points_legs",
])
def test_the_journal_is_insert_only(app, statement):
    _earned(app)
    with app.app_context(), runtime().uow() as uow:
        with pytest.raises(DBAPIError, match="insert-only"):
            uow.session.execute(text(statement))


def test_a_resident_balance_cannot_go_negative_in_the_database(app):
    _resident_id, account = _earned(app, 100)
    with app.app_context(), runtime().uow() as uow:
        with pytest.raises(IntegrityError, match="resident_balance_nonnegative"):
            uow.session.execute(update(Account).where(Account.id == account)
                                .values(balance=Account.balance - 101))
            uow.session.flush()


def test_an_awarded_key_is_awarded_once(app):
    resident_id, _account = _earned(app, 100)
    with app.app_context(), runtime().uow() as uow:
        assert not award(uow.session, resident_id=resident_id, points=100, key="earn:t:1",
                         rule="t", now=T0, expires_at=T0 + timedelta(days=30))
        with pytest.raises(IntegrityError):
            ledger.post(uow.session, key="earn:t:1", kind="earn", now=T0,
                        legs=[(ledger.system_account(uow.session, "issuance", T0), -1),
                              (_account, 1)])


def test_post_refuses_a_transfer_that_does_not_balance(app):
    _resident_id, account = _earned(app)
    with app.app_context(), runtime().uow() as uow:
        issuance = ledger.system_account(uow.session, "issuance", T0)
        for legs in ([(issuance, -5), (account, 4)], [(account, 5)], []):
            with pytest.raises(ledger.LedgerError):
                ledger.post(uow.session, key=f"x:{len(legs)}", kind="earn", now=T0, legs=legs)


@pytest.mark.services
def test_postgresql_refuses_at_commit_a_transfer_whose_legs_do_not_sum_to_zero(pg_url, app):
    _resident_id, account = _earned(app)
    with app.app_context(), runtime().uow() as uow:
        transfer_id = uuid.uuid4()
        uow.session.execute(insert(Transfer).values(id=transfer_id, key="bad", kind="earn",
                                                    at=T0))
        uow.session.execute(insert(Leg).values(transfer_id=transfer_id, account_id=account,
                                               amount=5))
        uow.session.flush()  # deferred: only the commit checks
        with pytest.raises(IntegrityError, match="does not balance"):
            uow.commit()


@pytest.mark.services
def test_postgresql_refuses_a_transfer_without_legs(pg_url, app):
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(insert(Transfer).values(id=uuid.uuid4(), key="empty", kind="earn",
                                                    at=T0))
        with pytest.raises(IntegrityError, match="does not balance"):
            uow.commit()


@pytest.mark.services
def test_postgresql_triggers_are_installed(pg_url, app):
    with app.app_context(), runtime().uow() as uow:
        names = set(uow.session.scalars(text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    assert {"points_transfers_insert_only", "points_legs_insert_only",
            "points_refunds_insert_only", "points_transfers_zero_sum",
            "points_legs_zero_sum"} <= names


# -- random sequences keep every invariant -----------------------------------------------------

WHO = st.integers(0, 1)
OPS = st.lists(st.one_of(
    st.tuples(st.just("earn"), WHO, st.integers(1, 500), st.integers(1, 20)),
    st.tuples(st.just("redeem"), WHO, st.integers(0, 1), st.integers(1, 150)),
    st.tuples(st.just("refund"), st.integers(0, 30), st.one_of(st.none(), st.integers(1, 120))),
    st.tuples(st.just("time"), st.integers(0, 12)),
    st.tuples(st.just("expire")),
), min_size=8, max_size=24)


class Sequence:
    """Two fresh residents and two merchants; earn / redeem / refund / time / expire steps,
    each checked against what the ledger must answer, and the whole ledger reconciled after
    every step."""

    def __init__(self, app: Any, seen: Counter[str]) -> None:
        self.app, self.seen, self.now = app, seen, T0
        self.residents = [_resident(app), _resident(app)]
        with app.app_context(), runtime().uow() as uow:
            self.partners = [create_partner(uow.session, name=f"shop {i}", kind="merchant",
                                            scenarios=["points_redemption"], now=T0)[0]
                             for i in range(2)]
            uow.commit()
        with app.app_context():
            for resident_id in self.residents:
                consent_to_redemption(app, resident_id, T0)
        self.redemptions: list[tuple[uuid.UUID, int]] = []
        self.earned = self.taken = self.returned = 0

    def spendable(self, session: Any, resident_id: uuid.UUID) -> int:
        account = ledger.resident_account(session, resident_id, self.now)
        if account is None:
            return 0
        balance = session.scalar(select(Account.balance).where(Account.id == account))
        return int(balance) - expiry.due_total(session, account, self.now)

    def earn(self, who: int, points: int, days: int) -> None:
        with self.app.app_context(), runtime().uow() as uow:
            assert award(uow.session, resident_id=self.residents[who], points=points,
                         key=f"earn:prop:{uuid.uuid4().hex}", rule="prop", now=self.now,
                         expires_at=self.now + timedelta(days=days))
            uow.commit()
        self.earned += points

    def redeem(self, who: int, at: int, points: int) -> None:
        with self.app.app_context(), runtime().uow() as uow:
            spendable = self.spendable(uow.session, self.residents[who])
            account = ledger.resident_account(uow.session, self.residents[who], self.now)
            due = account is not None and expiry.due_total(uow.session, account, self.now) > 0
        try:
            found = self._redeem(self.residents[who], self.partners[at], points)
        except LimitExceeded:
            assert points > spendable
            self.seen["redeem refused"] += 1
            return
        assert points <= spendable
        self.seen["redeem"] += 1
        self.seen["redeem with lots due"] += due
        self.taken += points
        self.redemptions.append((found, at))

    def _redeem(self, resident_id: uuid.UUID, partner: Any, points: int) -> uuid.UUID:
        order = uuid.uuid4().hex
        with self.app.app_context():
            token = token_for(resident_id, partner, self.now)
            with statements(self.app) as sent:
                try:
                    answer = redeem(runtime().uow, token, partner=partner,
                                    out_order_no=order, points=points, now=self.now,
                                    ctx=runtime().tokens)
                finally:
                    # the function alone, refused or not (a cold key cache may add a lookup,
                    # never a points statement)
                    assert sum("pc_redeem" in q for q in sent) == 1, sent
                    assert not [q for q in sent if "pc_redeem" not in q
                                and ("points_" in q or "partner_requests" in q)], sent
            return uuid.UUID(answer["redemption_id"])

    def refund(self, index: int, points: int | None) -> None:
        if not self.redemptions:
            return
        redemption_id, at = self.redemptions[index % len(self.redemptions)]
        with self.app.app_context():
            with runtime().uow() as uow:
                before = uow.session.get(Redemption, redemption_id)
                refundable = before.points - before.refunded
            try:
                answer = refund(runtime().uow, partner=self.partners[at],
                                redemption_id=redemption_id, out_refund_no=uuid.uuid4().hex,
                                points=points, now=self.now)
            except RefundExceedsRedemption:
                assert refundable == 0 or (points or 0) > refundable
                self.seen["refund refused"] += 1
                return
        assert answer["points"] == (points or refundable) <= refundable
        self.seen["refund" + (" of expired points" if answer["expired"] else "")] += 1
        self.returned += answer["returned"]

    def time(self, days: int) -> None:
        self.now += timedelta(days=days)

    def expire(self) -> None:
        with self.app.app_context():
            with runtime().uow() as uow:
                due = expiry.accounts_due(uow.session, self.now, 100)
            for account in due:
                with runtime().uow() as uow:
                    if expiry.expire_account(uow.session, account, self.now):
                        self.seen["expired"] += 1
                    uow.commit()

    def check(self) -> None:
        with self.app.app_context(), runtime().uow() as uow:
            check = ledger.reconcile(uow.session)
            assert check.ok, check
            held = 0
            for resident_id in self.residents:
                account = ledger.resident_account(uow.session, resident_id, self.now)
                if account is not None:
                    held += ledger.balance_of(uow.session, account)
                    assert self.spendable(uow.session, resident_id) >= 0
        # what is neither held, spent nor given back has expired — never less than nothing
        assert self.earned - self.taken + self.returned - held >= 0


@pytest.mark.commits  # redemptions run on the driver connection (pgcall), counted as sent
def test_random_sequences_of_earn_redeem_refund_and_expire_keep_every_invariant(app):
    seen: Counter[str] = Counter()

    @settings(max_examples=12, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(OPS)
    def run(ops: list[tuple[Any, ...]]) -> None:
        sequence = Sequence(app, seen)
        for name, *args in ops:
            getattr(sequence, name)(*args)
            sequence.check()

    run()
    assert {"redeem", "redeem with lots due", "redeem refused", "refund",
            "expired"} <= set(seen), seen
