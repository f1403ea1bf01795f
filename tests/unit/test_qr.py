"""The token QR code: exactly the modules segno encodes, drawn as one path, quiet zone kept."""

from __future__ import annotations

import re
import secrets

import segno

from core.qr import BORDER, MASK, svg


def test_the_svg_draws_exactly_the_dark_modules_of_the_code() -> None:
    token = secrets.token_urlsafe(340)[:450]  # the size of a real partner token
    drawn_svg = svg(token)
    dark = drawn_svg.split('d="')[-1]  # the last path holds the modules (the first is white)
    drawn = {(int(x) + i, int(y)) for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)", dark)
             for i in range(int(n))}
    code = segno.make(token, error="m", mask=MASK, micro=False)
    rows = [list(r) for r in code.matrix_iter(border=BORDER)]
    assert drawn == {(x, y) for y, row in enumerate(rows) for x, v in enumerate(row) if v}
    size = len(rows)
    assert f'viewBox="0 0 {size} {size}"' in drawn_svg
    assert not any(v for v in rows[0]) and not any(row[0] for row in rows)  # quiet zone


def test_a_title_is_escaped() -> None:
    assert "<title>a &lt;b&gt; &amp; c</title>" in svg("x", title="a <b> & c")
