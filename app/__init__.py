"""The 鹏城分 web application: `create_app()` builds one, nothing is built at import time.

Where a thing goes: an endpoint in `app/api/<area>/routes.py` (its schemas beside it in
`schemas.py`), calling a use case of a domain package with what `runtime()` holds:

    with runtime().uow() as uow:
        result = consent.services.withdraw(uow, resident, consent_id, now=runtime().clock.now(), …)

A domain exception is mapped to problem+json in `app/errors.py` and listed per operation in
`app/refusals.py`; a setting is a default in `app/config.py` (`PENGCHENG_<NAME>`); a process-wide
part (a store, a signer, a client) is a typed field of `app/runtime.py`'s `Runtime`; an operator
command is a click command in `app/cli*.py`.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core.clock import Clock


def create_app(config: dict[str, Any] | None = None, *, clock: Clock | None = None,
               serve: bool = True) -> Flask:
    """Defaults, then `PENGCHENG_*` environment variables, then `config` (tests).

    `serve=False` builds an app for a command that serves no requests (`pengcheng score`): its
    settings and runtime, without the API, whose import is most of such a process's start.
    """
    from app import config as settings
    from app import runtime
    from app.http import App

    instance = os.environ.get("PENGCHENG_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    app = App(__name__, instance_path=os.path.abspath(instance))
    app.config.update(settings.DEFAULTS)
    app.config.from_prefixed_env("PENGCHENG")
    app.config.update(config or {})
    settings.resolve(app.config, app.instance_path)

    runtime.build(app, clock=clock)
    if not serve:
        return app

    from app import errors, http, slots
    from app.extensions import api

    http.init_app(app)  # first: the input screen, whose parsed body the slots then read
    slots.init_app(app)
    api.init_app(app)
    errors.init_app(app)
    if hops := app.config["TRUSTED_PROXIES"]:
        # The client address is the one the nearest `hops` proxies saw (app/ratelimit.py).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]

    from app.api import register

    register(api, app)
    return app
