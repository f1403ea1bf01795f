"""QR codes as compact SVG, fast enough to draw on every token request.

segno encodes (a fixed mask skips its search over eight masks, the slow part in pure Python);
the SVG is one path of horizontal runs of dark modules, written here in one pass.
"""

from __future__ import annotations

import segno

MASK = 4  # any valid mask scans; searching for the best one costs ~4x the whole encoding
BORDER = 4  # the quiet zone the QR specification asks for, in modules


def svg(data: str, *, scale: int = 3, title: str | None = None) -> str:
    """An inline `<svg>` of `data` (error correction M)."""
    rows = segno.make(data, error="m", mask=MASK, micro=False).matrix_iter(border=BORDER)
    path, size = [], 0
    for y, row in enumerate(rows):
        cells = list(row)
        size = len(cells)
        x = 0
        while x < size:
            if cells[x]:
                start = x
                while x < size and cells[x]:
                    x += 1
                path.append(f"M{start} {y}h{x - start}")
            else:
                x += 1
    label = f"<title>{_escape(title)}</title>" if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'width="{size * scale}" height="{size * scale}" shape-rendering="crispEdges" '
            f'role="img">{label}<path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>'
            f'<path stroke="#000" transform="translate(0 .5)" d="{"".join(path)}"/></svg>')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
