"""Helpers shared by every test tier: builders, fakes and probes, never tests.

Where a thing goes: `from tests.support.factories import bearer, id_number` (people, partners,
tokens); `from tests.support.statements import statements` (count what a request sent to the
database); an area's helpers sit in `tests/support/<area>.py` (`tests.support.consent`).
"""
