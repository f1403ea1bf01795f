"""The token QR code scans back to the token: the SVG's path, rasterized module by module, is
read by a real decoder (zxing-cpp's reader), with the quiet zone kept."""

from __future__ import annotations

import re
import secrets

import numpy as np
import pytest
import zxingcpp

from core.qr import BORDER, modules, svg


def raster(drawn_svg: str) -> np.ndarray:
    """The SVG as a black-on-white image, 4 pixels a module, from its path alone."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', drawn_svg).group(1))  # type: ignore[union-attr]
    image = np.full((size, size), 255, dtype=np.uint8)
    dark = drawn_svg.split('d="')[-1]  # the last path holds the modules (the first is white)
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)", dark):
        image[int(y), int(x):int(x) + int(n)] = 0
    return np.kron(image, np.ones((4, 4), dtype=np.uint8))


def test_the_svg_scans_back_to_the_token() -> None:
    token = secrets.token_urlsafe(340)[:450]  # the size of a real partner token
    found = zxingcpp.read_barcode(raster(svg(token)))
    assert found is not None and found.text == token
    assert found.format == zxingcpp.BarcodeFormat.QRCode and found.ec_level == "M"


@pytest.mark.parametrize("kind", ["code", "short", "long"])
def test_the_svg_draws_exactly_the_dark_modules_inside_a_quiet_zone(kind: str) -> None:
    token = {"code": "".join(secrets.choice("0123456789") for _ in range(18)),  # version 1
             "short": secrets.token_urlsafe(60), "long": secrets.token_urlsafe(300)}[kind]
    drawn = raster(svg(token))[::4, ::4] == 0
    inner = modules(token)
    size = inner.shape[0] + 2 * BORDER
    assert drawn.shape == (size, size)
    assert (drawn[BORDER:-BORDER, BORDER:-BORDER] == inner).all()
    assert not drawn[:BORDER].any() and not drawn[-BORDER:].any()
    assert not drawn[:, :BORDER].any() and not drawn[:, -BORDER:].any()


def test_a_title_is_escaped() -> None:
    assert "<title>a &lt;b&gt; &amp; c</title>" in svg("x", title="a <b> & c")
