"""Report fixtures: synthetic output folders (tests/report/builders.py) rendered once per session."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.settings import AnalysisPlan
from tests.report.builders import ALL_12_MONTHS, NONE_INFUSED, SKIPPED_NOTE, TYPICAL, build_output_folder

RENDERED_AT = "2026-02-03T04:05:06+00:00"


def render_folder(folder: Path, specs, notes: list[str] | None = None) -> Path:
    from pipelines.report import run_report

    build_output_folder(folder, specs, notes=notes)
    run_report(folder, AnalysisPlan(), RENDERED_AT)
    return folder


@pytest.fixture(scope="session")
def typical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder with ten infused participants, both reports rendered into ``report/``."""
    return render_folder(tmp_path_factory.mktemp("typical"), TYPICAL, notes=[SKIPPED_NOTE])


@pytest.fixture(scope="session")
def none_infused(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data cut at which nobody is infused yet."""
    return render_folder(tmp_path_factory.mktemp("none-infused"), NONE_INFUSED)


@pytest.fixture(scope="session")
def all_12_months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data cut at which every participant is past 12 months (or died)."""
    return render_folder(tmp_path_factory.mktemp("all-12-months"), ALL_12_MONTHS)


def normalize(text: str) -> str:
    """One line, single spaces (no-break spaces too): PDF text wraps where the layout does, also after a dash."""
    text = re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()
    return re.sub(r"([–→]) (?=\d)", r"\1", text)


def pdf_pages(path: Path) -> list[str]:
    """The text of each PDF page, normalized (cached per file version: extraction takes seconds)."""
    return list(_pdf_pages(str(path), path.stat().st_mtime_ns))


@lru_cache(maxsize=16)
def _pdf_pages(path: str, mtime: int) -> tuple[str, ...]:
    """poppler's pdftotext when installed (.ci/run installs poppler-utils; ten times faster), else pypdf."""
    if shutil.which("pdftotext") and not os.environ.get("PACER_TEST_PYPDF"):
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", path, "-"], capture_output=True, text=True, check=True
        ).stdout
        return tuple(normalize(page) for page in text.split("\f")[:-1])
    return tuple(normalize(page.extract_text() or "") for page in PdfReader(path).pages)


def html_text(path: Path) -> str:
    """The HTML's visible text (tags dropped), normalized."""
    html = path.read_text(encoding="utf-8")
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return normalize(re.sub(r"<[^>]+>", " ", html).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
