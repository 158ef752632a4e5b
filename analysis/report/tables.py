"""Display frames as lean HTML tables: one look for every table of the report.

Each table is a ``<table>`` in a ``<div class="rt" id=…>`` (a fixed id, so two renders of one run
give the same HTML) with as few elements and classes as the look needs: the PDF's layout time grows
with the number of boxes and of style rules, and long listings are most of the report. The look is
in ``templates/report.css`` (``.rt``); the page-breaking rules that go with it:

- the title, the subtitle, the spanners and the column labels are the ``<thead>``, which the PDF
  repeats at the top of every page a long table continues on; rows never split across pages;
- a table of at most :data:`KEEP_TOGETHER_ROWS` rows is kept whole with its title (``rt keep``): it
  moves to the next page rather than leave its header or a few rows behind;
- a cell breaks only between words: a token (``29/36``, ``PACER-001``, a confidence interval
  ``54.8–85.8``) is never split, and one holding an en dash is kept whole (``nw``), since the
  line breaker may otherwise break after the dash; only a column holding a token longer than
  :data:`LONG_TOKEN` characters (a hash, hostile text) may break anywhere (``any``), so nothing
  overflows the page;
- a column whose every cell is a number, a count, a percentage or an interval is right-aligned
  (``r``);
- each column's width is worked out here as the automatic table layout would
  (:mod:`analysis.report.column_widths`) and given to the PDF (``<col>`` widths, ``table-layout:
  fixed``), which then need not measure every cell twice before laying the table out.
"""

from __future__ import annotations

import math
import re

import pandas as pd
from markupsafe import escape

from analysis.report.column_widths import cell_widths, column_shares
from analysis.report.escaping import visible_text

KEEP_TOGETHER_ROWS = 12
"""A table of at most this many body rows is kept on one page with its title: a short table moves whole
to the next page rather than leave its title or a few rows behind; a longer one fills the page and goes on."""
WIDE_TABLE_COLUMNS = 7
"""A table of at least this many columns is set a size smaller (``rt wide``), so its numbers fit unbroken."""
LONG_TOKEN = 40
"""A column holding a token longer than this may break it anywhere (no real cell has one; a hash, hostile text)."""

_NUMERIC = re.compile(r"^[-−+<>≤≥~]?\s?[\d.,]+(?:[\s\u00a0]?%)?(?:/[\d.,]+)?(?:[\s\u00a0]*\(.*\))?$|^(?:n\.e\.|–|-|)$")
_DASHED_TOKEN = re.compile(r"[^\s]*–[^\s]*")


def _cell(text: str, dashed: bool) -> str:
    """One cell's text, escaped, invisible characters shown; each token with an en dash kept whole."""
    shown = str(escape(visible_text(text)))
    if dashed and "–" in shown:
        shown = _DASHED_TOKEN.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', shown)
    return shown


def _column_classes(values: pd.Series) -> str:
    """``r`` for a numeric column, ``any`` for a column with a very long token; "" otherwise."""
    texts = values.tolist()
    classes = []
    if all(_NUMERIC.match(t) for t in texts) and any(t not in ("", "–", "-") for t in texts):
        classes.append("r")
    if any(len(token) > LONG_TOKEN for t in texts for token in t.split()):
        classes.append("any")
    return " ".join(classes)


def html_table(
    frame: pd.DataFrame,
    table_id: str,
    title: str | None = None,
    subtitle: str | None = None,
    notes: list[str] | tuple[str, ...] = (),
    empty: str = "No rows at this data cut.",
    highlight: pd.Series | None = None,
    spanners: dict[str, list[str]] | None = None,
    labels: dict[str, str] | None = None,
    widths: dict[str, int] | None = None,
) -> str:
    """Render ``frame`` (strings) as an HTML table fragment.

    Parameters
    ----------
    frame : DataFrame
        Already formatted for display; column names are the headers. Every cell is shown literally:
        HTML-escaped, invisible and direction-changing characters as ``<U+XXXX>``
        (:func:`analysis.report.escaping.visible_text`).
    table_id : str
        Unique in the report (anchors and determinism).
    title, subtitle : str, optional
        Repeated with the column labels on every page the table continues on.
    notes : sequence of str
        Notes under the table (plain text), once.
    empty : str
        Shown instead of an empty table.
    highlight : boolean Series, optional
        Rows to set in bold (e.g. the primary comparison).
    spanners : dict, optional
        Spanner label → the adjacent columns under it.
    labels : dict, optional
        Column → the header shown (column names must be unique; headers need not be).
    widths : dict, optional
        Column → its share of the table's width in percent, for a column of long text (a comparison's
        name) that should wrap in a column of its own rather than squeeze the numbers beside it.

    Returns
    -------
    str
        ``<div class="rt" id="table_id">`` with the table and its notes.
    """
    notes_html = "".join(f"<p class='table-note'>{escape(n)}</p>" for n in notes)
    if frame.empty:
        head = f"<strong>{escape(title)}</strong> — {escape(empty)}" if title else str(escape(empty))
        return f"<p class='empty-table'>{head}</p>{notes_html}"
    data = frame.reset_index(drop=True).astype(str)
    columns = list(data.columns)
    width = len(columns)
    classes = [_column_classes(data[c]) for c in columns]
    head = []
    if title:
        subtitle_html = f"<span class='sub'>{escape(subtitle)}</span>" if subtitle else ""
        head.append(f"<tr><th colspan='{width}' class='title'>{escape(title)}{subtitle_html}</th></tr>")
    if spanners:
        head.append(_spanner_row(columns, spanners))
    shown = labels or {}
    head.append(
        "<tr class='cols'>"
        + "".join(
            f"<th{_class_attr(css)}>{escape(visible_text(str(shown.get(c, c))))}</th>"
            for c, css in zip(columns, classes)
        )
        + "</tr>"
    )
    bold = set() if highlight is None else {i for i, on in enumerate(highlight.tolist()) if on}
    shares = _shares(data, [visible_text(str(shown.get(c, c))) for c in columns], classes, bold, widths, spanners)
    if shares is None:
        opening = "<table>"
    else:  # floored to a tenth, so the columns never add up to more than the table's width
        cols = "".join(f"<col style='width: {math.floor(share * 10) / 10:.1f}%'>" for share in shares)
        opening = f"<table class='fixed'><colgroup>{cols}</colgroup>"
    body = []
    for i, row in enumerate(data.itertuples(index=False, name=None)):
        cells = "".join(f"<td{_class_attr(css)}>{_cell(v, 'any' not in css)}</td>" for v, css in zip(row, classes))
        body.append(f"<tr class='b'>{cells}</tr>" if i in bold else f"<tr>{cells}</tr>")
    keep = " keep" if len(data) <= KEEP_TOGETHER_ROWS else ""
    wide = " wide" if width >= WIDE_TABLE_COLUMNS else ""
    return (
        f"<div class='rt{keep}{wide}' id='{escape(table_id)}'>{opening}<thead>{''.join(head)}</thead>"
        f"<tbody>{''.join(body)}</tbody></table>{notes_html}</div>"
    )


BODY_PT = {False: 8.5, True: 7.5}
"""A table's font size in points, by whether it is wide (``.rt table``, ``.rt.wide table``)."""
HEAD_PT = {False: 8.0, True: 7.0}
"""The column labels' font size in points (bold), by whether the table is wide (``.rt tr.cols th``)."""


def _shares(
    data: pd.DataFrame,
    headers: list[str],
    classes: list[str],
    bold: set[int],
    widths: dict[str, int] | None,
    spanners: dict[str, list[str]] | None,
) -> list[float] | None:
    """Each column's share of the table's width in percent (:func:`analysis.report.column_widths.column_shares`):
    measured on its label and its cells as shown (invisible characters as ``<U+XXXX>``); a spanner wider than
    its columns widens them in proportion to their widths, as the automatic layout does."""
    wide = len(headers) >= WIDE_TABLE_COLUMNS
    narrowest, unbroken = [], []
    for position, column in enumerate(data.columns):
        anywhere = "any" in classes[position]
        measured = [cell_widths(headers[position], HEAD_PT[wide], bold=True, anywhere=anywhere, dash_breaks=True)]
        measured += [
            cell_widths(visible_text(text), BODY_PT[wide], bold=row in bold, anywhere=anywhere)
            for row, text in enumerate(data[column].tolist())
        ]
        narrowest.append(max(low for low, _ in measured))
        unbroken.append(max(high for _, high in measured))
    positions = {column: k for k, column in enumerate(data.columns)}
    for label, members in (spanners or {}).items():
        under = [positions[c] for c in members]
        spanner_widths = cell_widths(label, BODY_PT[wide], bold=True, dash_breaks=True)
        for measured, spanner in zip((narrowest, unbroken), spanner_widths):
            spanned = sum(measured[k] for k in under)
            if spanner > spanned:
                for k in under:
                    measured[k] *= spanner / spanned
    fixed = {k: float(widths[c]) for k, c in enumerate(data.columns) if widths and c in widths}
    return column_shares(narrowest, unbroken, fixed)


def _class_attr(css: str) -> str:
    return f" class='{css}'" if css else ""


def _spanner_row(columns: list[str], spanners: dict[str, list[str]]) -> str:
    """One header row: each spanner over its (adjacent) columns, empty cells elsewhere."""
    owner = {column: label for label, members in spanners.items() for column in members}
    cells, k = [], 0
    while k < len(columns):
        label = owner.get(columns[k])
        span = 1
        while k + span < len(columns) and label is not None and owner.get(columns[k + span]) == label:
            span += 1
        text = escape(label) if label is not None else ""
        css = " class='span'" if label is not None else ""
        cells.append(f"<th colspan='{span}'{css}>{text}</th>" if span > 1 else f"<th{css}>{text}</th>")
        k += span
    return "<tr class='spanners'>" + "".join(cells) + "</tr>"
