"""Fixtures shared by the API tests."""

from tests.api.test_tokens_support import world  # noqa: F401  (a resident with a good score, partners)
