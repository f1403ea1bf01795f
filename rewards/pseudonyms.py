"""Pairwise pseudonyms: the `sub` a partner sees, and the mapping kept for settlement.

`sub = keyring.pseudonym(sector, resident_id)` is an HMAC under a key derived from the index key:
stable for one partner (its sector is its client id), unlinkable across partners, and not
reversible without the service's key. The `partner_pseudonyms` table maps it back to the
resident, scoped to the partner it was issued to.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import Keyring
from rewards.models import PartnerPseudonym


class Audience(Protocol):
    """A partner as a token names it: a `Partner`, or anything with its id and client id."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def client_id(self) -> str: ...


def sector(partner: Audience) -> str:
    """The sector a pseudonym is pairwise to: one per partner."""
    return f"partner:{partner.client_id}"


def pseudonym(keyring: Keyring, partner: Audience, resident_id: uuid.UUID) -> str:
    """The resident's pseudonym at `partner` (`rewards.tokens.issue` records the mapping with
    the token it signs)."""
    return keyring.pseudonym(sector(partner), resident_id)


def resident_for(session: Session, partner_id: uuid.UUID, pseudonym: str) -> uuid.UUID | None:
    """Settlement: the resident behind `pseudonym`, only for the partner it was issued to."""
    return session.scalar(select(PartnerPseudonym.resident_id).where(
        PartnerPseudonym.pseudonym == pseudonym, PartnerPseudonym.partner_id == partner_id))


def resident_of(session: Session, pseudonym: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(resident_id, partner_id) behind `pseudonym` whoever it was issued to (access log)."""
    row = session.get(PartnerPseudonym, pseudonym)
    return None if row is None else (row.resident_id, row.partner_id)
