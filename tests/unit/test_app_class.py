"""`app.http.App`: Flask, remembering per function whether it is a coroutine (issue 26)."""

from __future__ import annotations

from typing import Any

from app.http import App


def test_a_plain_function_is_returned_as_it_is_and_remembered() -> None:
    app = App(__name__)

    def view() -> str:
        return "x"

    assert app.ensure_sync(view) is view
    assert app._coroutine == {view: False}


def test_a_bound_method_is_remembered_by_its_function() -> None:
    app = App(__name__)

    class View:
        def get(self) -> str:
            return "x"

    first, second = View().get, View().get
    assert app.ensure_sync(first) is first and app.ensure_sync(second) is second
    assert list(app._coroutine) == [View.get]


def test_a_coroutine_is_still_run_to_its_end() -> None:
    app = App(__name__)

    async def view() -> str:
        return "done"

    wrapped: Any = app.ensure_sync(view)
    assert wrapped is not view and wrapped() == "done"
    assert app.ensure_sync(view)() == "done"  # remembered as a coroutine
