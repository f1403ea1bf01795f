"""Interface checks for contract tests (Warehouse's `verifyClass`, STYLE rule 14).

    assert_implements(FastStore, RedisStore)

A contract test runs every implementation through the same behaviour tests; this checks the
shape first: the implementation is a subclass, leaves nothing abstract, and every public method
of the interface keeps its signature (names, defaults, annotations).
"""

from __future__ import annotations

import inspect


def assert_implements(interface: type, implementation: type) -> None:
    """`implementation` can stand wherever `interface` is expected."""
    assert issubclass(implementation, interface), f"{implementation} is not a {interface}"
    left: frozenset[str] = getattr(implementation, "__abstractmethods__", frozenset())
    assert not left, f"{implementation.__name__} leaves abstract: {sorted(left)}"
    for name, method in inspect.getmembers(interface, inspect.isfunction):
        if name.startswith("_"):
            continue
        mine = inspect.signature(getattr(implementation, name))
        assert mine == inspect.signature(method), f"{implementation.__name__}.{name}{mine}"
