"""QR codes as compact SVG, fast enough to draw on every token request.

zxing-cpp encodes (C++, error correction M, its own best mask); the SVG is one path of
horizontal runs of dark modules, found with numpy. A token's QR shows its 18-digit code, not
the JWS (issue 20): numeric mode fits it in a 21x21 version-1 symbol, ~1 KB of SVG.

The path's text is the cost that is left (issue 26): ~120 runs a symbol, each `M{x} {y}h{n}`.
Formatting them one by one took more than zxing's encoding; the pieces `M{x} {y}` and `h{n}`
are instead looked up in a table made once per symbol size (`_pieces`: ~900 strings for a
version-1 symbol), and the path is one `join` of them: the same text, in ~0.14 ms a token
instead of ~0.3 (measured beside the earlier code; docs/BENCHMARKS.md, session 10).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import zxingcpp

BORDER = 4  # the quiet zone the QR specification asks for, in modules


def modules(data: str) -> np.ndarray:
    """The code's modules without the quiet zone: True where dark."""
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    return np.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128


@lru_cache(maxsize=8)
def _pieces(size: int) -> tuple[str, ...]:
    """For a symbol of `size` modules a side (quiet zone included): `M{x} {y}` at index
    `y * size + x`, then `h{n}` at index `size * size + n`."""
    return (*(f"M{x} {y}" for y in range(size) for x in range(size)),
            *(f"h{n}" for n in range(size + 1)))


def path(dark: np.ndarray) -> str:
    """The SVG path of `dark`'s modules, each run of a row as `M{x} {y}h{n}`, the quiet zone's
    offset added."""
    rows, width = dark.shape
    size = rows + 2 * BORDER
    padded = np.zeros((rows, width + 2), dtype=np.int8)
    padded[:, 1:-1] = dark
    edges = np.diff(padded, axis=1)
    ys, starts = np.nonzero(edges == 1)  # row-major: starts and ends pair up
    ends = np.nonzero(edges == -1)[1]
    index = np.empty(2 * len(starts), dtype=np.int64)
    index[0::2] = (ys + BORDER) * size + starts + BORDER
    index[1::2] = size * size + ends - starts
    return "".join(map(_pieces(size).__getitem__, index.tolist()))


def svg(data: str, *, scale: int = 3, title: str | None = None) -> str:
    """An inline `<svg>` of `data` (error correction M, quiet zone included)."""
    dark = modules(data)
    size = dark.shape[0] + 2 * BORDER
    label = f"<title>{_escape(title)}</title>" if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'width="{size * scale}" height="{size * scale}" shape-rendering="crispEdges" '
            f'role="img">{label}<path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>'
            f'<path stroke="#000" transform="translate(0 .5)" d="{path(dark)}"/></svg>')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
