"""The open report's PDF laid out in a forked process: the same bytes as in this process, and no copy left behind; the
closed report's sections shared with that copy from both ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.forked import ForkedWork
from analysis.report.inputs import ReportInputError
from analysis.report.render import LayoutAside, SectionsFromBothEnds, _laid_out_pdf

REPO = Path(__file__).resolve().parents[2]
TWO_PAGES = (
    "<html><head><style>@page { size: A6 }</style></head><body>"
    "<h1>Layout aside</h1><p>first page</p><p style='break-before: page'>second page 42</p></body></html>"
)


def test_the_forked_layout_gives_the_bytes_and_pages_of_a_layout_here():
    aside = LayoutAside(TWO_PAGES)
    pdf, pages, seconds = aside.result()
    aside.cancel()  # after the result: nothing left to stop
    assert (pdf, pages) == _laid_out_pdf(TWO_PAGES)
    assert pages == 2
    assert pdf.startswith(b"%PDF-")
    assert seconds > 0


def test_a_failed_forked_layout_raises(monkeypatch: pytest.MonkeyPatch):
    def broken(html: str) -> tuple[bytes, int]:
        raise ZeroDivisionError("planted defect in the layout")

    monkeypatch.setattr("analysis.report.render._laid_out_pdf", broken)
    aside = LayoutAside(TWO_PAGES)
    with pytest.raises(ZeroDivisionError, match="planted defect") as raised:
        aside.result()
    assert "forked copy" in raised.value.__notes__[0] and "in broken" in raised.value.__notes__[0]
    assert aside._pid is None  # the copy was stopped and collected


def test_a_copy_killed_before_it_answers_is_a_clear_error():
    aside = LayoutAside(TWO_PAGES)
    os.kill(aside._pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match="laying out a report's PDF in a forked process failed"):
        aside.result()


def test_work_done_first_in_the_copy_comes_back_before_the_layout():
    aside = LayoutAside(TWO_PAGES, first=lambda: ({"pid": os.getpid()}, ["a line"]))
    value, lines = aside.first_result()
    assert value["pid"] == aside._pid != os.getpid() and lines == ["a line"]
    pdf, pages, _ = aside.result()
    assert (pdf, pages) == _laid_out_pdf(TWO_PAGES)


def test_what_the_work_done_first_raises_is_raised_here_with_the_copys_traceback():
    def broken() -> None:
        raise ReportInputError("ard.parquet lacks a row the report needs")

    aside = LayoutAside(TWO_PAGES, first=broken)
    try:
        with pytest.raises(ReportInputError, match="lacks a row") as raised:
            aside.first_result()
    finally:
        aside.cancel()
    # a user error stays one (the command line's one line), the copy's traceback a note for a defect's report
    assert "forked copy" in raised.value.__notes__[0] and "in broken" in raised.value.__notes__[0]


def test_cancel_stops_the_copy():
    aside = LayoutAside(TWO_PAGES)
    pid = aside._pid
    aside.cancel()
    with pytest.raises(ChildProcessError):  # reaped: no such child any more
        os.waitpid(pid, os.WNOHANG)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_copy_dies_with_its_parent(tmp_path: Path):
    """SIGKILL the process that forked: its copy, still laying out, is killed by the kernel at once."""
    script = (
        "import sys, time\n"
        "import analysis.report.render as render\n"
        "def slow(html):\n    time.sleep(60)\n    return b'', 0\n"
        "render._laid_out_pdf = slow\n"
        f"aside = render.LayoutAside({TWO_PAGES!r})\n"
        "print(aside._pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the forked layout outlived the process that started it")


def test_sections_claimed_from_both_ends_meet_once():
    shared = SectionsFromBothEnds(5)
    claims = [shared.claim_front(), shared.claim_back(), shared.claim_front(), shared.claim_back()]
    assert claims == [0, 4, 1, 3]
    assert shared.claim_back() == 2  # the last one, to whichever asks first
    assert (shared.claim_front(), shared.claim_back()) == (None, None)


def test_a_forked_copy_and_this_process_share_the_sections_each_built_once():
    """The copy claims from the back as fast as it can while this process claims from the front: together they
    take every one of 2,000 indices exactly once."""
    shared = SectionsFromBothEnds(2_000)

    def from_the_back() -> list[int]:
        taken = []
        while (index := shared.claim_back()) is not None:
            taken.append(index)
        return taken

    copy = ForkedWork(from_the_back, what="claiming")
    mine = []
    while (index := shared.claim_front()) is not None:
        mine.append(index)
    theirs = copy.next_result()
    copy.finish()
    assert mine == sorted(mine) and theirs == sorted(theirs, reverse=True)
    assert sorted(mine + theirs) == list(range(2_000))
