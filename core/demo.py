"""The embedded demo: named personas, seeded synthetic residents, and the identity claims used to
sign in as them.

The personas (`PERSONAS`) each show one side of the product; `app.seed.seed_personas` gives them
records and history through the real use cases. The demo login lists them first, in this order,
each with one line saying who they are — the first is the one a newcomer should try. Only the
demo login (development mode) calls `demo_identity`; it exists nowhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import Keyring
from core.identity import Resident, find_resident, read_personal
from core.idnumber import make


@dataclass(frozen=True)
class Persona:
    """A named demo resident and the one line the login list shows for them."""

    key: str
    name: str
    id_number: str
    phone: str
    district: str
    zh: str
    en: str
    supplements: tuple[str, ...] | None = None  # scoring consent: None for every category


PERSONAS = (
    Persona("excellent", "林晓雯", make("440305", date(1990, 3, 18), 101), "13800000101",
            "nanshan",
            "先试这位：极好，已授权评分并添加社保、公积金、水电、租房、志愿、献血等补充数据，"
            "先诊后付与免押都按时结清",
            "Try her first: excellent, scoring consent with social insurance, housing fund, "
            "utilities, rent, volunteering and blood donation added; credit care and waivers "
            "settled on time"),
    Persona("thin_file", "周子航", make("440306", date(2001, 9, 2), 102), "13800000102",
            "baoan",
            "一般：刚参加工作，记录干净但很少，只添加了社保、水电两项补充数据；看看添加数据能带来多少分",
            "Fair: a first job, a clean but thin file with only social insurance and utilities "
            "added; see what adding data would bring",
            ("social_insurance", "utilities")),
    Persona("traffic", "陈建国", make("440303", date(1982, 6, 11), 103), "13800000103",
            "luohu",
            "良好：添加了社保、水电、交通数据，有一条已缴罚款的交通违法记录，可申请信用修复",
            "Good: social insurance, utilities and traffic added; one traffic violation with its "
            "fine paid, which can be repaired (信用修复)",
            ("social_insurance", "utilities", "traffic")),
    Persona("overdue", "黄丽娟", make("440307", date(1978, 12, 5), 104), "13800000104",
            "longgang",
            "极好，但一笔先诊后付账单已逾期：先诊后付与免押暂停，还清即可恢复（演示支付）",
            "Excellent, but a credit-care bill is overdue: credit care and waivers are suspended "
            "until it is paid (demo payment)"),
    Persona("dishonest", "赵志强", make("440309", date(1975, 1, 23), 105), "13800000105",
            "longhua",
            "一般：被列为失信被执行人，先诊后付、免押等激励暂不可用；看看原因与修复途径",
            "Fair: listed as a dishonest judgment debtor (失信被执行人); credit care and waivers "
            "are unavailable — see why and how to repair"),
)


@dataclass(frozen=True)
class DemoResident:
    resident_id: uuid.UUID
    label: str  # name · district · birth year
    persona: str | None = None  # the persona's key; None for a synthetic resident
    description: dict[str, str] | None = None  # the persona's line, {"zh", "en"}


def demo_residents(session: Session, keyring: Keyring, limit: int = 20) -> list[DemoResident]:
    """The personas in their order, then the first active synthetic residents, `limit` in all."""
    out, seen = [], set()
    for persona in PERSONAS:
        resident = find_resident(session, keyring, persona.id_number)
        if resident is None or resident.status != "active":
            continue
        seen.add(resident.id)
        out.append(DemoResident(resident.id, _label(session, keyring, resident), persona.key,
                                {"zh": persona.zh, "en": persona.en}))
    rows = session.scalars(
        select(Resident).where(Resident.status == "active", Resident.id.not_in(seen))
        .order_by(Resident.created_at, Resident.id).limit(max(0, limit - len(out))))
    out += [DemoResident(r.id, _label(session, keyring, r)) for r in rows]
    return out[:limit]


def _label(session: Session, keyring: Keyring, resident: Resident) -> str:
    person = read_personal(session, keyring, resident)
    return f"{person.name} · {resident.district or '深圳'} · {resident.birth_year or ''}"


def demo_identity(session: Session, keyring: Keyring, resident_id: uuid.UUID
                  ) -> dict[str, Any] | None:
    """The identity claims a login as this seeded resident uses; None for no such resident."""
    resident = session.get(Resident, resident_id)
    if resident is None or resident.status != "active":
        return None
    person = read_personal(session, keyring, resident)
    return {"sub": f"demo:{resident.id}", "id_number": person.id_number, "name": person.name,
            "phone_number": person.phone}
