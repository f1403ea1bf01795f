"""A synthetic Shenzhen population for demos, validation, fitting and benchmarks.

Deterministic from a seed. Each resident has a latent *reliability* z ~ N(0, 1); the rates of
every record family depend on z (reliable people contribute more months, pay on time, get fewer
penalties), and so does the label — whether they would default on a 先诊后付 bill in the next
year — so validation and fitting measure something real. The latent z is never a feature.

Two shapes:
- `generate_population(n, seed)` — residents (valid 18-digit ID numbers with Shenzhen region
  codes, Chinese names, phones, district, birth date, reliability, label, consented categories)
  and records in the ingest shape (DESIGN §6) — for the demo seed and tests (n up to ~10⁵).
- `generate_people` + `generate_batch` — numpy arrays straight into the columnar `RecordBatch`,
  for millions of residents (the benchmark), chunk by chunk.
Minor/general/serious negative records get the registry's maximum publicity period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from core.idnumber import make
from core.registry import CORE, SEVERITIES
from scoring.codes import (
    CATEGORY_CODES,
    CATEGORY_INDEX,
    NO_END,
    NO_SEVERITY,
    SECONDS_PER_DAY,
    SECONDS_PER_MONTH,
    TYPE_INDEX,
    TYPE_KEYS,
)
from scoring.features import RecordBatch, from_epoch, publicity_seconds

AS_OF = datetime(2025, 6, 30, tzinfo=UTC)
# (district, 区 name, region code, population weight in millions, 2020 census-ish)
DISTRICTS = (
    ("futian", "福田区", "440304", 1.55), ("luohu", "罗湖区", "440303", 1.14),
    ("nanshan", "南山区", "440305", 1.80), ("yantian", "盐田区", "440308", 0.21),
    ("baoan", "宝安区", "440306", 4.48), ("longgang", "龙岗区", "440307", 3.98),
    ("longhua", "龙华区", "440309", 2.53), ("pingshan", "坪山区", "440310", 0.55),
    ("guangming", "光明区", "440311", 1.10), ("dapeng", "大鹏新区", "440307", 0.16),
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏飞宇浩然子涵欣怡思博文俊嘉"
_DAY, _MONTH = SECONDS_PER_DAY, SECONDS_PER_MONTH


def _sig(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


@dataclass
class People:
    """Per-resident arrays (row i = resident i)."""

    reliability: np.ndarray  # float64 latent z
    district: np.ndarray  # int8 index into DISTRICTS
    birth_day: np.ndarray  # int32 days since 1970-01-01
    label: np.ndarray  # bool: would default on 先诊后付
    consent: np.ndarray  # bool (n, n_categories)

    def __len__(self) -> int:
        return int(self.reliability.shape[0])


def generate_people(n: int, seed: int = 0, as_of: datetime = AS_OF) -> People:
    """Latent reliability, district, birth date, label and consent for n residents."""
    rng = np.random.default_rng([seed, 0])
    z = rng.standard_normal(n)
    weights = np.array([d[3] for d in DISTRICTS])
    district = rng.choice(len(DISTRICTS), size=n, p=weights / weights.sum()).astype(np.int8)
    age_years = 18 + rng.gamma(3.0, 6.5, size=n).clip(0, 67)
    birth_day = (as_of.timestamp() / _DAY - age_years * 365.2425).astype(np.int32)
    label = rng.random(n) < _sig(-3.1 - 1.5 * z)
    consent = np.ones((n, len(CATEGORY_CODES)), dtype=bool)
    partial = rng.random(n) < 0.12
    consent[partial] = rng.random((int(partial.sum()), len(CATEGORY_CODES))) < 0.6
    consent[:, [CATEGORY_INDEX[c] for c in CORE]] = True  # scoring always includes the core
    return People(z, district, birth_day, label, consent)


def _family(parts: list[tuple[np.ndarray, ...]], type_key: tuple[str, str], rows: np.ndarray,
            when: np.ndarray, amount: np.ndarray | None = None,
            quantity: np.ndarray | None = None, severity: np.ndarray | None = None) -> None:
    k = rows.shape[0]
    sev = np.full(k, NO_SEVERITY, np.int8) if severity is None else severity.astype(np.int8)
    ends = np.full(k, NO_END, np.int64)
    for s, name in enumerate(SEVERITIES):
        hit = sev == s
        ends[hit] = when[hit] + publicity_seconds(name)
    parts.append((rows, np.full(k, TYPE_INDEX[type_key], np.int16), when.astype(np.int64),
                  np.zeros(k, np.int64) if amount is None else amount.astype(np.int64),
                  np.zeros(k) if quantity is None else quantity, sev, ends))


def _events(rng: np.random.Generator, rate: np.ndarray, days: int, now: int
            ) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.poisson(rate)
    rows = np.repeat(np.arange(rate.shape[0]), counts)
    return rows, now - rng.integers(0, days * _DAY, size=rows.shape[0])


def _monthly(rng: np.random.Generator, months: np.ndarray, now: int
             ) -> tuple[np.ndarray, np.ndarray]:
    rows = np.repeat(np.arange(months.shape[0]), months)
    first = np.repeat(np.cumsum(months) - months, months)
    k = np.arange(rows.shape[0]) - first  # 0 = the latest month
    return rows, now - (k * _MONTH + rng.integers(0, 20 * _DAY, size=rows.shape[0]))


def generate_batch(people: People, seed: int = 0, as_of: datetime = AS_OF, *, lo: int = 0,
                   hi: int | None = None, statuses: bool = False) -> RecordBatch:
    """Records of residents [lo, hi) as a columnar batch (resident = row - lo), sorted.

    ``statuses`` marks a few negative records disputed or repaired (exercises the filters; the
    ingest shape has no status). Deterministic for a given (seed, lo, hi).
    """
    hi = len(people) if hi is None else hi
    rng = np.random.default_rng([seed, 1, lo, hi])
    z = people.reliability[lo:hi]
    n = z.shape[0]
    now = int(as_of.timestamp())
    parts: list[tuple[np.ndarray, ...]] = []

    def u(size: int | tuple[int, int]) -> np.ndarray:
        return np.asarray(rng.random(size))


    employed = u(n) < _sig(1.6 + 0.9 * z)
    si = np.where(employed, 24 - np.asarray(rng.poisson(np.exp(0.3 - 0.9 * z))).clip(0, 24),
                  np.asarray(rng.poisson(2.0, n)).clip(0, 24))
    _family(parts, ("social_insurance", "contribution_month"), *_monthly(rng, si, now))
    hf = np.where(employed & (u(n) < _sig(0.2 + 1.0 * z)), (si - rng.poisson(1.0, n)).clip(0), 0)
    _family(parts, ("housing_fund", "contribution_month"), *_monthly(rng, hf, now))
    filed = (u((n, 3)) < _sig(1.0 + 1.0 * z)[:, None]) & (u(n) < 0.8)[:, None]
    rows, years = np.nonzero(filed)
    _family(parts, ("tax", "filed_on_time"), rows, now - years * 365 * _DAY - 90 * _DAY)
    rows, when = _events(rng, 0.06 * np.exp(-1.1 * z), 1095, now)
    _family(parts, ("tax", "arrears"), rows, when, amount=rng.lognormal(12.0, 1.2, rows.size),
            severity=np.ones(rows.size))
    rows, when = _events(rng, 0.10 * np.exp(-1.0 * z), 1825, now)
    sev = np.searchsorted([0.6, 0.93], u(rows.size) ** np.exp(0.4 * z[rows]))
    _family(parts, ("public_credit", "admin_penalty"), rows, when, severity=sev,
            amount=rng.integers(20_000, 500_000, rows.size))
    rows, when = _events(rng, 0.05 * np.exp(0.7 * z), 1825, now)
    _family(parts, ("public_credit", "commendation"), rows, when)
    debtor = np.flatnonzero(u(n) < 0.025 * np.exp(-1.4 * z))
    when = now - rng.integers(0, 1825 * _DAY, debtor.size)
    _family(parts, ("judicial", "dishonest_debtor"), debtor, when,
            amount=rng.lognormal(11.5, 1.0, debtor.size), severity=np.full(debtor.size, 2))
    has_util = u(n) < 0.85
    late = (u((n, 12)) < _sig(-3.6 - 1.3 * z)[:, None]) & has_util[:, None]
    for flag, type_code, sv in ((late, "payment_overdue", 0), (~late, "payment_on_time", None)):
        rows, k = np.nonzero(flag & has_util[:, None])
        _family(parts, ("utilities", type_code), rows, now - k * 61 * _DAY - 5 * _DAY,
                amount=rng.integers(5_000, 60_000, rows.size),
                severity=None if sv is None else np.zeros(rows.size))
    rows, when = _events(rng, np.where(u(n) < 0.45, 0.5 * np.exp(-0.7 * z), 0.0), 1095, now)
    _family(parts, ("traffic", "violation"), rows, when, severity=np.zeros(rows.size),
            amount=np.full(rows.size, 20_000))
    keen = rng.gamma(1.5, 5.0, n) * (u(n) < _sig(-1.3 + 0.7 * z))
    rows, when = _events(rng, keen, 730, now)
    _family(parts, ("volunteer", "service_hours"), rows, when,
            quantity=rng.integers(2, 9, rows.size) / 2.0)
    rows, when = _events(rng, np.where(u(n) < _sig(-2.0 + 0.4 * z), 2.0, 0.0), 1095, now)
    _family(parts, ("blood_donation", "donation"), rows, when)
    renter = u(n) < 0.55
    rent_late = (u((n, 24)) < _sig(-4.2 - 1.3 * z)[:, None]) & renter[:, None]
    for flag, type_code, sv in ((rent_late, "rent_overdue", 0),
                                (~rent_late & renter[:, None], "rent_on_time", None)):
        rows, k = np.nonzero(flag)
        _family(parts, ("rental", type_code), rows, now - k * _MONTH - 3 * _DAY,
                amount=rng.integers(150_000, 800_000, rows.size),
                severity=None if sv is None else np.zeros(rows.size))
    user = u(n) < 0.45
    for rate, p_bad, good, bad in ((2.0, -2.6, "medical_credit_repaid", "medical_credit_overdue"),
                                   (4.0, -3.4, "deposit_returned", "deposit_defaulted")):
        rows, when = _events(rng, np.where(user, rate, 0.0), 730, now)
        is_bad = u(rows.size) < _sig(p_bad - 1.4 * z[rows])
        _family(parts, ("scenario_performance", good), rows[~is_bad], when[~is_bad],
                amount=rng.integers(5_000, 200_000, int((~is_bad).sum())))
        _family(parts, ("scenario_performance", bad), rows[is_bad], when[is_bad],
                amount=rng.integers(5_000, 200_000, int(is_bad.sum())),
                severity=np.ones(int(is_bad.sum())))

    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    order = np.argsort(cols[0], kind="stable")
    rows, types, when, amount, qty, sev, ends = (c[order] for c in cols)
    status = np.zeros(rows.size, np.int8)
    if statuses:
        negative = sev >= 0
        status[negative & (u(rows.size) < 0.03)] = 1  # disputed
        status[negative & (u(rows.size) < 0.05)] = 2  # repaired
    type_cat = np.array([CATEGORY_INDEX[c] for c, _ in TYPE_KEYS], dtype=np.int8)
    return RecordBatch(rows.astype(np.int64), type_cat[types], types, when, amount, qty, sev,
                       status, ends)


def _name(rng: np.random.Generator) -> str:
    given = "".join(rng.choice(list(_GIVEN), size=int(rng.integers(1, 3))))
    return str(rng.choice(list(_SURNAMES))) + given


def generate_population(n: int, seed: int = 0, as_of: datetime = AS_OF
                        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(residents, records): residents as dicts and records in the ingest shape (DESIGN §6).

    Resident: id_number, name, phone, district, district_zh, birth_date (ISO), reliability,
    label, consented_categories. Record: source_record_id, id_number, category, type,
    occurred_at (ISO 8601 UTC), and amount_fen / quantity / severity when meaningful.
    """
    people = generate_people(n, seed, as_of)
    batch = generate_batch(people, seed, as_of)
    rng = np.random.default_rng([seed, 2])
    residents: list[dict[str, Any]] = []
    used: set[str] = set()
    for i in range(n):
        born = date(1970, 1, 1) + timedelta(days=int(people.birth_day[i]))
        code, zh, region, _ = DISTRICTS[int(people.district[i])]
        seq = (i * 7 + seed) % 1000
        while (id_number := make(region, born, seq)) in used:
            seq += 1
        used.add(id_number)
        residents.append({
            "id_number": id_number,
            "name": _name(rng),
            "phone": f"1{rng.choice([3, 5, 7, 8, 9])}{int(rng.integers(0, 10**9)):09d}",
            "district": code, "district_zh": zh, "birth_date": born.isoformat(),
            "reliability": float(people.reliability[i]), "label": bool(people.label[i]),
            "consented_categories": [c for c, ok in zip(CATEGORY_CODES, people.consent[i],
                                                        strict=True) if ok],
        })
    records = []
    for k in range(len(batch)):
        cat, type_ = TYPE_KEYS[int(batch.type[k])]
        i = int(batch.resident[k])
        rec: dict[str, Any] = {
            "source_record_id": f"syn-{seed}-{i}-{k}",
            "id_number": residents[i]["id_number"], "category": cat, "type": type_,
            "occurred_at": from_epoch(int(batch.occurred_at[k])).isoformat().replace(
                "+00:00", "Z"),
        }
        if batch.amount_fen[k]:
            rec["amount_fen"] = int(batch.amount_fen[k])
        if batch.quantity[k]:
            rec["quantity"] = float(batch.quantity[k])
        if batch.severity[k] >= 0:
            rec["severity"] = SEVERITIES[int(batch.severity[k])]
        records.append(rec)
    return residents, records
