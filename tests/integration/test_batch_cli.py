"""`pengcheng` imports a command group's module only when a command line names it (or `--help`
lists them all): `pengcheng score` does not pay for the rights queues, the audit log or the
webhooks. Every command is still there, under its name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from app import cli as app_cli
from app.cli import main

ROOT = Path(__file__).resolve().parents[2]
OWN = {"db", "keys", "seed", "demo", "scenarios", "notices", "jobs"}  # defined in app.cli


def test_naming_score_imports_its_own_group_and_no_other():
    code = ("import sys, click; from app.cli import main; "
            "before = sorted(m for m in sys.modules if m.startswith('app.cli')); "
            "main.get_command(click.Context(main), 'score'); "
            "after = sorted(m for m in sys.modules if m.startswith('app.cli')); "
            "print(' '.join(before)); print(' '.join(after))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout.splitlines()
    assert out == ["app.cli app.cli_support", "app.cli app.cli_scoring app.cli_support"]


def test_every_group_is_found_under_its_name():
    ctx = click.Context(main)
    for name in app_cli._GROUPS:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
    partners = main.get_command(ctx, "partners")
    assert isinstance(partners, click.Group) and "staff" in partners.commands


def test_help_lists_every_command(app):
    result = app.test_cli_runner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()}
    assert set(app_cli._GROUPS) | OWN <= listed
    assert {"routes", "shell"} <= listed  # Flask's own
