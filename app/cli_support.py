"""What every `pengcheng` command group shares: refusals as one-line errors, JSON out, the clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click

from app.runtime import runtime
from core.errors import DomainError


@contextmanager
def refusals(*, with_code: bool = False) -> Iterator[None]:
    """A domain refusal (unknown id, empty name) is a one-line error, not a traceback."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}" if with_code else exc.detail
                                   ) from exc


def echo_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def now() -> datetime:
    return runtime().clock.now()
