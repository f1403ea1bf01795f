"""`app.http.App`: Flask, remembering per function whether it is a coroutine (issue 26)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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

    def serve() -> tuple[Any, Any]:
        wrapped: Any = app.ensure_sync(view)
        return wrapped is not view and wrapped(), app.ensure_sync(view)()

    # A request's own thread, as a server runs it: a test before this one (the pages' browser)
    # may leave an event loop running in pytest's thread, where asgiref refuses to start one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(serve).result(timeout=30) == ("done", "done")  # remembered too
