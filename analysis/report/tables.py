"""Display frames as great_tables HTML: one look for every table of the report.

Each table gets a fixed ``id`` (great_tables otherwise draws a random one), so two renders of the
same run give the same HTML. Every table shares the same options, so great_tables' per-table
``<style>`` block is dropped and one copy, scoped to the class ``gt-wrap``, goes into the page's
stylesheet (:func:`shared_css`): a third of the HTML and much faster PDF layout.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd
from great_tables import GT, html

from analysis.report.escaping import visible_text

FONT = ["DejaVu Sans", "Liberation Sans", "Arial", "sans-serif"]


def gt_html(
    frame: pd.DataFrame,
    table_id: str,
    title: str | None = None,
    subtitle: str | None = None,
    notes: list[str] | tuple[str, ...] = (),
    empty: str = "No rows at this data cut.",
    highlight: pd.Series | None = None,
    spanners: dict[str, list[str]] | None = None,
    labels: dict[str, str] | None = None,
) -> str:
    """Render ``frame`` (strings) as a great_tables HTML fragment.

    Parameters
    ----------
    frame : DataFrame
        Already formatted for display; column names are the headers. Every cell is shown literally:
        HTML-escaped by great_tables, invisible and direction-changing characters as ``<U+XXXX>``
        (:func:`analysis.report.escaping.visible_text`).
    table_id : str
        Unique in the report (CSS scoping and determinism).
    title, subtitle : str, optional
    notes : sequence of str
        Source notes under the table (plain text).
    empty : str
        Shown instead of an empty table.
    highlight : boolean Series, optional
        Rows to set in bold (e.g. the primary comparison).
    spanners : dict, optional
        Spanner label → the columns under it.
    labels : dict, optional
        Column → the header shown (column names must be unique; headers need not be).
    """
    if frame.empty:
        text = (
            f"<p class='empty-table'><strong>{_escape(title)}</strong> — {_escape(empty)}</p>"
            if title
            else f"<p class='empty-table'>{_escape(empty)}</p>"
        )
        return text + "".join(f"<p class='table-note'>{_escape(n)}</p>" for n in notes)
    data = frame.reset_index(drop=True).astype(str).map(visible_text)
    table = GT(data, id=table_id)
    if title:
        table = table.tab_header(title=title, subtitle=subtitle)
    for label, columns in (spanners or {}).items():
        table = table.tab_spanner(label=label, columns=columns)
    if labels:
        table = table.cols_label(cases=labels)
    for note in notes:
        table = table.tab_source_note(html(_escape(note)))
    if highlight is not None and highlight.any():
        from great_tables import loc, style

        rows = [i for i, v in enumerate(highlight.tolist()) if v]
        table = table.tab_style(style=style.text(weight="bold"), locations=loc.body(rows=rows))
    return _without_style(_styled(table).as_raw_html(), table_id)


def _styled(table: GT) -> GT:
    return table.tab_options(
        table_font_names=FONT,
        table_font_size="9pt",
        heading_title_font_size="11pt",
        heading_subtitle_font_size="9pt",
        column_labels_font_weight="bold",
        data_row_padding="2px",
        source_notes_font_size="8pt",
        table_width="100%",
        heading_align="left",
    )


def _without_style(fragment: str, table_id: str) -> str:
    fragment = re.sub(r"<style>.*?</style>", "", fragment, count=1, flags=re.S)
    return fragment.replace(f'<div id="{table_id}"', f'<div id="{table_id}" class="gt-wrap"', 1)


@lru_cache(maxsize=1)
def shared_css() -> str:
    """great_tables' stylesheet for the report's table options, scoped to ``.gt-wrap``."""
    sample = _styled(
        GT(pd.DataFrame({"a": ["1"]}), id="gt-shared").tab_header(title="t", subtitle="s").tab_source_note("n")
    ).as_raw_html()
    css = re.search(r"<style>(.*?)</style>", sample, flags=re.S).group(1)
    return css.replace("#gt-shared", ".gt-wrap")


def _escape(text: str | None) -> str:
    from markupsafe import escape

    return str(escape(text or ""))
