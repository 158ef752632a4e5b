"""Filling the templates: the open and the closed report as one self-contained HTML file each, and PDF.

The HTML carries its CSS inline and its figures as inline SVG; it makes no request (a
Content-Security-Policy forbids any). The PDF is WeasyPrint's rendering of the same HTML (each
figure handed to it as an image of the same SVG, :func:`figures_as_images`), with fixed metadata
dates (the data cut), so two renders of one run differ only in the declared render time. Each
section is built once: the closed report repeats the open report's sections as they are (their
figures are drawn once). The work is shared with a forked copy of the process on a machine's
second core (:class:`LayoutAside`, :func:`render_reports`): the two build the closed report's own
sections from both ends until they meet (:class:`SectionsFromBothEnds`); then the copy lays out the
open report's PDF while this process lays out the closed report's.
"""

from __future__ import annotations

import base64
import gc
import logging
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from analysis.forked import ForkedWork
from analysis.report.inputs import ReportInputs
from analysis.report.sections import ReportContext, Section, context, front_matter, provenance_appendix
from analysis.report.sections_closed import CLOSED_SECTIONS, summary_section
from analysis.report.sections_open import OPEN_SECTIONS
from analysis.settings import AnalysisPlan
from analysis.store import output_file_mode

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = ("open", "closed")
FILE_NAMES = {"open": "dsmb_open_report", "closed": "dsmb_report"}
"""outputs.md: ``report/dsmb_open_report.{html,pdf}`` and ``report/dsmb_report.{html,pdf}`` (closed)."""


def _css_string(value: object) -> Markup:
    """A value safe inside a double-quoted CSS string of a ``<style>`` element (no HTML escaping there)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3C ")
    return Markup(text)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["css_string"] = _css_string
    return env


def numbered(sections: list[Section]) -> list[dict]:
    """Sections with their numbers: 1, 2, … then appendices A, B, …"""
    out, main, appendix = [], 0, 0
    for s in sections:
        if s.appendix:
            number = f"Appendix {chr(ord('A') + appendix)}."
            appendix += 1
        else:
            main += 1
            number = f"{main}."
        out.append({"id": s.id, "title": s.title, "blocks": s.blocks, "appendix": s.appendix, "number": number})
    return out


PAGE_SIZES = {"letter": "letter", "a4": "A4"}
"""CSS ``@page`` size of each ``report.paper_size`` setting."""


Progress = Callable[[str], None]
"""Where the report step's progress lines go (the pipeline's progress log); by default nowhere."""


def _quiet(line: str) -> None:
    """The default :data:`Progress`: say nothing."""


def build_sections(
    ctx: ReportContext, builders: Sequence[Callable[[ReportContext], Section | None]], progress: Progress = _quiet
) -> list[Section]:
    """Each builder's section in order (a builder returning None adds none), one progress line per section."""
    sections = []
    for build in builders:
        section, line = _built(ctx, build)
        if section is not None:
            sections.append(section)
            progress(line)
    return sections


def _built(ctx: ReportContext, build: Callable[[ReportContext], Section | None]) -> tuple[Section | None, str]:
    """One builder's section (or None) and its progress line (its build time)."""
    start = time.perf_counter()
    section = build(ctx)
    title = "" if section is None else section.title
    return section, f"report   section {title} ({time.perf_counter() - start:.1f} s)"


class SectionsFromBothEnds:
    """The closed report's own sections (:data:`CLOSED_SECTIONS`) shared by this process and a forked copy of it:
    this process claims them from the first on, the copy from the last back, one at a time, until the two meet.

    Whichever process is free builds the next section, so both finish together whatever each section
    costs (the CRS section's swimmer plot and the listings grow with the participants), and each
    section is built once. The claims live in memory the two processes share (made before the fork).
    """

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._lock = context.Lock()
        self._bounds = context.RawArray("i", [0, count])  # the next from the front; one past the next from the back

    def claim_front(self) -> int | None:
        """The next section from the front, or None once the two have met."""
        with self._lock:
            front, back = self._bounds[0], self._bounds[1]
            if front >= back:
                return None
            self._bounds[0] = front + 1
            return front

    def claim_back(self) -> int | None:
        """The next section from the back, or None once the two have met."""
        with self._lock:
            front, back = self._bounds[0], self._bounds[1]
            if front >= back:
                return None
            self._bounds[1] = back - 1
            return back - 1


def report_sections(
    ctx: ReportContext, kinds: Sequence[str] = KINDS, progress: Progress = _quiet
) -> dict[str, list[Section]]:
    """The sections of each report of ``kinds``, each built once: the closed report is its summary, the open
    report's very sections (figures and tables drawn once for both) and its own sections."""
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    opened = build_sections(ctx, OPEN_SECTIONS, progress)
    out = {"open": opened}
    if "closed" in kinds:
        summary = build_sections(ctx, (summary_section,), progress)
        out["closed"] = [*summary, *opened, *build_sections(ctx, CLOSED_SECTIONS, progress)]
    return {kind: out[kind] for kind in kinds}


def document_html(ctx: ReportContext, kind: str, sections: list[Section], rendered_at: str) -> str:
    """One report's self-contained HTML: the front matter, ``sections`` and the provenance appendix."""
    front = front_matter(ctx, kind, rendered_at)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    template = _environment().get_template("report.html")
    return template.render(
        front=front,
        sections=numbered([*sections, provenance_appendix(front)]),
        css=css,
        paper_size=PAGE_SIZES[ctx.plan.report.paper_size],
    )


def render_html(inputs: ReportInputs, plan: AnalysisPlan, kind: str, rendered_at: str) -> str:
    """The ``kind`` ("open" or "closed") report as one self-contained HTML document.

    The open report holds aggregate sections only; the closed report adds the safety, comparison,
    efficacy and stopping-rule sections and the appendices.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    ctx = context(inputs, plan)
    return document_html(ctx, kind, report_sections(ctx, (kind,))[kind], rendered_at)


def load_layout_libraries() -> None:
    """Import WeasyPrint and matplotlib's pyplot (on its SVG backend) now, e.g. while the run waits for something
    else: the report step then finds them loaded. Renders nothing."""
    import weasyprint  # noqa: F401

    from analysis.report.figures import _pyplot

    _pyplot()


def render_pdf(html: str) -> bytes:
    """The PDF of a rendered HTML report (WeasyPrint; metadata dates from the HTML head)."""
    return _laid_out_pdf(html)[0]


def _laid_out_pdf(html: str) -> tuple[bytes, int]:
    """The PDF and its number of pages.

    WeasyPrint's warnings about CSS it does not use (SVG presentation attributes) are kept out of the
    run log; its errors still show.
    """
    from weasyprint import HTML

    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with _no_garbage_collection():
            document = HTML(string=figures_as_images(html), base_url=str(TEMPLATES)).render()
            return document.write_pdf(), len(document.pages)
    finally:
        logger.setLevel(level)


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    """No garbage collection while the block (a PDF's layout) runs; the collector as it was after.

    A layout makes hundreds of thousands of objects, so Python ran its collection passes many times
    during it, each going over the whole run's heap too (the tables, Prefect, matplotlib: some
    600,000 objects). Keeping those out of the passes (``gc.freeze``) saved a fifth of the closed
    report's layout time; no pass at all saves 0.3–0.4 s more (measured on the demo's closed report).
    Nothing is lost: what the layout leaves in reference cycles is collected by the first pass after
    the block, and it is little (the demo's closed layout peaks 4 MB higher).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_INLINE_FIGURE = re.compile(r"<svg\s.*?</svg>", re.S)
"""A figure's inline SVG in a report's HTML (:func:`analysis.report.figures.to_svg`; text is escaped, so a
``<svg`` in the HTML starts a figure)."""


def figures_as_images(html: str) -> str:
    """The HTML with each inline SVG figure as an ``<img>`` of the same SVG (a ``data:`` URI), for the PDF only.

    WeasyPrint draws an image of an SVG exactly as the inline SVG, but it does not give each of the
    figure's elements a place in the page's style cascade and box tree: the PDF's layout takes
    markedly less time. The HTML file keeps its figures inline (text a reader can select).
    """

    def as_image(figure: re.Match[str]) -> str:
        label = re.search(r'aria-label="([^"]*)"', figure.group(0))
        data = base64.b64encode(figure.group(0).encode("utf-8")).decode("ascii")
        return f'<img alt="{label.group(1) if label else ""}" src="data:image/svg+xml;base64,{data}">'

    return _INLINE_FIGURE.sub(as_image, html)


class LayoutAside:
    """One report's PDF laid out in a forked copy of this process while this process goes on (the machine's
    other core, :class:`analysis.forked.ForkedWork`): :meth:`result` gives the PDF, its number of pages and
    its layout time.

    Before it lays out, the copy may do other work for this process (``first``, e.g. building some of
    the other report's sections): :meth:`first_result` gives what ``first`` returned, or raises what it
    raised (the copy's traceback as the exception's note). A fork of this process lays out exactly
    the HTML this process would, with the same fonts, and draws the same figures: the bytes are the same.
    """

    def __init__(self, html: str, first: Callable[[], Any] | None = None) -> None:
        self._first = first
        work = () if first is None else (first,)
        self._copy = ForkedWork(*work, lambda: _timed_layout(html), what="laying out a report's PDF")

    @property
    def _pid(self) -> int | None:
        return self._copy.pid

    def first_result(self) -> Any:
        """What ``first`` returned in the copy, once it has (call it once, before :meth:`result`).

        Raises
        ------
        BaseException
            what ``first`` raised (a :class:`RuntimeError` naming it when it cannot be sent).
        RuntimeError
            when the copy failed before it sent it.
        """
        if self._first is None:
            raise ValueError("this layout was started without work to do first")
        self._first = None
        return self._copy.next_result()

    def result(self) -> tuple[bytes, int, float]:
        """The PDF, its pages and its layout time in seconds, once the forked copy has ended.

        Raises
        ------
        BaseException
            what the layout raised, with the copy's traceback as a note.
        RuntimeError
            when the copy failed without saying why (its traceback, if any, on stderr).
        """
        if self._first is not None:
            self.first_result()
        laid_out = self._copy.next_result()
        self._copy.finish()
        return laid_out

    def cancel(self) -> None:
        """Stop the copy when its result is no longer wanted (nothing when it was collected)."""
        self._copy.cancel()


def _timed_layout(html: str) -> tuple[bytes, int, float]:
    """:func:`_laid_out_pdf` and the seconds it took."""
    start = time.perf_counter()
    pdf, pages = _laid_out_pdf(html)
    return pdf, pages, time.perf_counter() - start


def render_reports(
    inputs: ReportInputs, plan: AnalysisPlan, rendered_at: str, progress: Progress = _quiet
) -> dict[str, bytes]:
    """Both reports in both formats: file name → bytes; a progress line per section and per PDF.

    The work is shared between this process and a forked copy (:class:`LayoutAside`), one core each:
    once the open report's sections are built, the two build the closed report's own sections
    (:data:`CLOSED_SECTIONS`) from both ends until they meet (:class:`SectionsFromBothEnds`), this
    process its summary too; the copy sends its sections back and lays out the open report's PDF,
    while this process lays out the closed report's. Every section is built once; the progress lines
    come in the report's order; the bytes are those of a sequential render.
    """
    ctx = context(inputs, plan)
    opened = build_sections(ctx, OPEN_SECTIONS, progress)
    html = {"open": document_html(ctx, "open", opened, rendered_at)}
    shared = SectionsFromBothEnds(len(CLOSED_SECTIONS))

    def from_the_back() -> dict[int, tuple[Section | None, str]]:
        built = {}
        while (index := shared.claim_back()) is not None:
            built[index] = _built(ctx, CLOSED_SECTIONS[index])
        return built

    for stream in (sys.stdout, sys.stderr):  # nothing buffered for the copy to write a second time
        stream.flush()
    aside = LayoutAside(html["open"], first=from_the_back)
    try:
        summary = build_sections(ctx, (summary_section,), progress)
        built = {}
        while (index := shared.claim_front()) is not None:
            built[index] = _built(ctx, CLOSED_SECTIONS[index])
            if built[index][0] is not None:
                progress(built[index][1])
        from_copy = aside.first_result()
        for index in sorted(from_copy):
            if from_copy[index][0] is not None:
                progress(from_copy[index][1])
        built |= from_copy
        own = [built[index][0] for index in range(len(CLOSED_SECTIONS)) if built[index][0] is not None]
        html["closed"] = document_html(ctx, "closed", [*summary, *opened, *own], rendered_at)
        laid_out = {"closed": _timed_layout(html["closed"]), "open": aside.result()}
    finally:
        aside.cancel()
    documents: dict[str, bytes] = {}
    for kind in KINDS:
        pdf, pages, seconds = laid_out[kind]
        documents[f"{FILE_NAMES[kind]}.html"] = html[kind].encode("utf-8")
        documents[f"{FILE_NAMES[kind]}.pdf"] = pdf
        progress(f"report   {FILE_NAMES[kind]}.pdf: {pages} pages, {len(pdf) // 1024} KB ({seconds:.1f} s to lay out)")
    return documents


def write_documents(documents: dict[str, bytes], folder: Path) -> dict[str, Path]:
    """Write each document into ``folder`` atomically (beside its destination, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, content in documents.items():
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, output_file_mode())
        os.replace(temporary, folder / name)
        written[name] = folder / name
    return written
