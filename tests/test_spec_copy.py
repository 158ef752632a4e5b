"""The repository's copy of the contracts (docs/spec/) is verbatim: a user's clone has no ../shared/."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COPY = REPO / "docs" / "spec"
SHARED = REPO.parent / "shared" / "spec"
CONTRACTS = ("export-format.md", "grading.md", "outputs.md")


@pytest.mark.parametrize("name", CONTRACTS)
def test_copy_is_present_and_versioned(name: str) -> None:
    text = (COPY / name).read_text(encoding="utf-8")
    assert "version" in text.splitlines()[0]


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/spec/ is not beside this clone")
@pytest.mark.parametrize("name", CONTRACTS)
def test_copy_is_verbatim(name: str) -> None:
    assert (COPY / name).read_bytes() == (SHARED / name).read_bytes(), (
        f"docs/spec/{name} differs from ../shared/spec/{name}: copy the contract verbatim"
    )


def test_no_other_contract_in_the_copy() -> None:
    assert sorted(path.name for path in COPY.glob("*.md")) == sorted(CONTRACTS)
