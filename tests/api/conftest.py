"""Fixtures shared by the API tests."""

# autouse: every problem answer a test sees is one /openapi.json lists for its operation
from tests.api.refusals_seen import every_refusal_is_documented  # noqa: F401
from tests.support.tokens import world  # noqa: F401  (a resident with a good score, partners)
