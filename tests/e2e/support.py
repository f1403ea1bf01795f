"""Arrangements for the browser tests, made through the real services and APIs, and the checks
every page goes through: axe-core and screenshots a person looks at."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.factories import login, new_partner, new_source
from tests.support.tokens import good_history, push

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("PENGCHENG_E2E_ARTIFACTS") or HERE / "artifacts")
# The WCAG 2.1 A/AA rules; a serious or critical violation fails the page.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}


def resident_without_consent(app: Any, client: Any, idp: Any, n: int = 11,
                             name: str = "李四") -> str:
    """A resident with three good years of records and no consent yet; returns a session token
    (the browser signs in on its own, through the demo login)."""
    _source, key = new_source(app)
    push(client, key, good_history(n))
    return login(client, idp, n, name)


def hospital(app: Any) -> tuple[Any, str]:
    """A hospital serving 先诊后付, and its API key."""
    return new_partner(app, "hospital", ["medical_credit"])


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_check(page: Any, label: str = "") -> list[dict[str, Any]]:
    """Runs axe-core (vendored, see vendor/README.md) on the page as it is now and fails on any
    serious or critical violation; returns the minor and moderate ones for a test to inspect.

    The engine is evaluated through the DevTools protocol, not a <script> tag, so the page's
    Content-Security-Policy stays exactly as served."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        """async (tags) => {
             const r = await window.axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                       resultTypes: ['violations']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: '
                                               + (n.failureSummary || '').slice(0, 200))}));
           }""", AXE_TAGS)
    failing = [v for v in result if v["impact"] in FAILING_IMPACTS]
    where = f"{label or page.url}"
    assert not failing, f"axe-core on {where}:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in failing)
    return [v for v in result if v["impact"] not in FAILING_IMPACTS]


def _test_folder() -> Path:
    """artifacts/<test module>/<test name>/, named from the running test."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "unknown::unknown").split(" ")[0]
    module, _, name = current.partition("::")
    return SCREENSHOTS / _safe(Path(module).stem) / _safe(name)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "unnamed"


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    """A screenshot into the folder the running test names (artifacts/<module>/<test>/); fails
    when nothing rendered."""
    from tests.e2e.conftest import blank

    folder = _test_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe(name)}.png"
    data = page.screenshot(path=str(path), full_page=full_page)
    assert not blank(data), f"{path} is blank"
    return path
