"""Each table's column widths, worked out as the PDF's automatic table layout would, so the PDF can use a fixed one.

WeasyPrint's automatic table layout measures every cell twice before it lays a table out (its
narrowest width, broken at every space, and its unbroken width): about a sixth of the closed
report's layout time. :func:`column_shares` does that measuring here, with the report's own font
(DejaVu Sans, its glyph advances read by Pillow), and shares the page's width out by the same
rule (CSS 2.1 §17.5.2.2, as WeasyPrint implements it): each column its unbroken width when they
all fit, the rest of the line shared in proportion to those widths; otherwise each column its
narrowest width plus a share of what is left in proportion to how much it would still need. The
table then takes these widths as given (``table-layout: fixed``); a table whose words do not fit on
a line at all keeps the automatic layout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

LINE_PT = {"letter": 175.9 / 25.4 * 72, "a4": 170 / 25.4 * 72}
"""A table's width in points on each page size: the page's width (215.9 mm, 210 mm) less the margins (2 × 14 mm)
and the body's padding (2 × 6 mm) (templates/report.css)."""
CELL_PADDING_PT = 2 * 1.6 / 25.4 * 72
"""A cell's left and right padding (``.rt th, .rt td``: 1.6 mm each)."""
FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}


@cache
def _font(bold: bool) -> Any:
    """The report's font (matplotlib ships the same DejaVu Sans the PDF uses), at 1000 units to the point."""
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, 1000)


def text_width(text: str, size_pt: float, bold: bool = False) -> float:
    """The width of ``text`` on one line, in points, at ``size_pt``."""
    return _font(bold).getlength(text) * size_pt / 1000 if text else 0.0


_BREAKS = {
    False: re.compile(r" |(?<=[/-])(?=[^\d\s])"),
    True: re.compile(r" |(?<=[/-])(?=[^\d\s])|(?<=–)(?=\S)"),
}
"""Where a line may break in a cell (Unicode's line-breaking rules, as far as the report's text goes): at a space
(a no-break space joins), after a slash or a hyphen not followed by a digit (``n/N``, not ``29/36`` or
``PACER-001``), and, with ``dash_breaks``, after an en dash (a column label's ``Q1–Q3``; a cell keeps its
intervals whole, :mod:`analysis.report.tables`)."""


def cell_widths(
    text: str, size_pt: float, bold: bool = False, anywhere: bool = False, dash_breaks: bool = False
) -> tuple[float, float]:
    """A cell's narrowest width (its longest unbreakable piece, :data:`_BREAKS`; its widest character when it may
    break anywhere) and its unbroken width, both with the cell's padding, in points."""
    pieces = list(text) if anywhere else _BREAKS[dash_breaks].split(text)
    widest = max((text_width(piece, size_pt, bold) for piece in pieces), default=0.0)
    return widest + CELL_PADDING_PT, text_width(text, size_pt, bold) + CELL_PADDING_PT


def column_shares(
    narrowest: Sequence[float], unbroken: Sequence[float], fixed: dict[int, float] | None = None
) -> list[float] | None:
    """Each column's share of the table's width in percent, as the automatic table layout gives it on a letter page.

    The shares hold on an A4 page too (a line 6 mm shorter) when every column's widest word still fits there,
    at worst in the cell's right padding (the next cell's left padding stays between them); else the table
    gets A4's shares (a little narrower than need be on a letter page).

    Parameters
    ----------
    narrowest, unbroken : sequence of float
        Each column's narrowest and unbroken width (points): the widest of its cells'.
    fixed : dict, optional
        Column position → its share in percent, set by the table (at least its narrowest width).

    Returns
    -------
    list of float or None
        Percentages summing to 100; None when the columns' narrowest widths do not fit on an A4 line (the
        automatic layout then lets the table overflow rather than squeeze a column under its widest word).
    """
    letter = _shares_on(LINE_PT["letter"], narrowest, unbroken, fixed or {})
    slack = CELL_PADDING_PT / 2
    if letter is not None and all(share / 100 * LINE_PT["a4"] + slack >= low for share, low in zip(letter, narrowest)):
        return letter
    return _shares_on(LINE_PT["a4"], narrowest, unbroken, fixed or {})


def _shares_on(
    line: float, narrowest: Sequence[float], unbroken: Sequence[float], fixed: dict[int, float]
) -> list[float] | None:
    """:func:`column_shares` on a line of ``line`` points (CSS 2.1 §17.5.2.2 as WeasyPrint implements it)."""
    at_least = [max(fixed[k] / 100 * line, low) if k in fixed else low for k, low in enumerate(narrowest)]
    at_most = [at_least[k] if k in fixed else max(high, at_least[k]) for k, high in enumerate(unbroken)]
    if sum(at_most) <= line:
        free = [k for k in range(len(at_most)) if k not in fixed and at_most[k] > 0]
        extra = line - sum(at_most)
        total = sum(at_most[k] for k in free)
        widths = [w + (extra * w / total if k in free and total else 0.0) for k, w in enumerate(at_most)]
    elif sum(at_least) > line:
        return None
    else:
        room = [high - low for low, high in zip(at_least, at_most)]
        share = (line - sum(at_least)) / sum(room)
        widths = [low + extra * share for low, extra in zip(at_least, room)]
    total = sum(widths)
    return [100 * w / total for w in widths]
