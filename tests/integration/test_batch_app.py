"""`pengcheng score` starts an app without the API (it serves no requests): the command gets
it and only it, and it scores and verifies as the whole app does."""

from __future__ import annotations

import json

import click
from flask.cli import ScriptInfo

import app as app_package
from app import cli as app_cli
from app.cli import main
from app.cli_scoring import model, score
from app.runtime import runtime
from app.seed import seed
from tests.support.factories import T0


def test_the_score_command_alone_gets_an_app_without_the_api(monkeypatch):
    asked: list[bool] = []
    monkeypatch.setattr(app_package, "create_app", lambda **kw: asked.append(kw["serve"]))
    for command in (score, model, None):
        if command is None:
            app_cli._create_app()
        else:
            with click.Context(command):
                app_cli._create_app()
    assert asked == [False, True, True]


def test_an_app_that_serves_no_requests_scores_as_the_whole_app(app, uow, config, clock):
    seed(runtime().uow, runtime().keyring, residents=12, rng_seed=4, now=T0)
    light = app_package.create_app(config, clock=clock, serve=False)
    try:
        assert [r.endpoint for r in light.url_map.iter_rules()] == ["static"]
        assert not light.blueprints
        scored = light.test_cli_runner().invoke(
            main, ["score"], obj=ScriptInfo(create_app=lambda: light))
        assert scored.exit_code == 0, scored.output
        assert json.loads(scored.output.strip().splitlines()[-1])["scored"] > 0
    finally:
        light.extensions["pengcheng"].engine.dispose()
        light.extensions["pengcheng"].health_engine.dispose()
    verified = app.test_cli_runner().invoke(main, ["score", "--verify"],
                                            obj=ScriptInfo(create_app=lambda: app))
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output.strip().splitlines()[-1])["mismatches"] == []
