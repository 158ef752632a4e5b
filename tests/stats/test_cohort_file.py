"""The typed historical cohorts: the reference file validates, a malformed one is a one-line settings error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analysis.reference.cohorts import HISTORICAL_COHORTS_PATH, CohortFileError, load_cohorts
from analysis.settings import AnalysisPlan, SettingsError

REFERENCE = yaml.safe_load(HISTORICAL_COHORTS_PATH.read_text(encoding="utf-8"))


def write_with(tmp_path: Path, cohort_id: str, **changes: object) -> Path:
    """The reference file with some fields of one cohort changed (a value of ``...`` deletes the field)."""
    document = yaml.safe_load(HISTORICAL_COHORTS_PATH.read_text(encoding="utf-8"))
    cohort = next(c for c in document["cohorts"] if c["id"] == cohort_id)
    for name, value in changes.items():
        if value is ...:
            del cohort[name]
        else:
            cohort[name] = value
    path = tmp_path / "historical_cohorts.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_the_reference_file_validates_in_its_order_and_nothing_is_filled_in():
    cohorts = load_cohorts().cohorts
    assert [c.id for c in cohorts] == [c["id"] for c in REFERENCE["cohorts"]]
    by_id = {c.id: c for c in cohorts}
    eliana = by_id["eliana_2018"]
    assert (eliana.crs_scale, eliana.n_infused, eliana.crs_grade3plus_n, eliana.min_marrow_blast_pct) == (
        "penn",
        75,
        35,
        5,
    )
    assert eliana.nct == ("NCT02435849",)
    assert (eliana.os_12mo.estimate, eliana.os_12mo.ci) == (76, (63, 86))
    assert eliana.model_extra["crs_any_pct"] == 77  # an untyped field, kept as published
    # null stays unknown, never zero; confirmed: false stays false
    assert by_id["eliana_n79_in_pasquini2020"].crs_grade4_n is None
    assert by_id["cibmtr_john_2025"].crs_scale is None
    assert by_id["cibmtr_john_2025"].os_12mo.ci is None
    assert by_id["prwcc_schultz_2022"].confirmed is False
    assert by_id["pooled_levine_2021"].nct == ("NCT02435849", "NCT02228096")


def test_wrong_type_names_the_cohort_and_the_field(tmp_path: Path):
    path = write_with(tmp_path, "eliana_2018", n_infused="75")
    with pytest.raises(CohortFileError) as error:
        load_cohorts(path)
    assert str(error.value) == (
        f"{path}: invalid historical cohorts: cohort 'eliana_2018', field 'n_infused': "
        "Input should be a valid integer (got '75')"
    )


def test_unknown_scale_names_the_cohort_and_the_field(tmp_path: Path):
    path = write_with(tmp_path, "cibmtr_pasquini_2020", crs_scale="lee")
    with pytest.raises(CohortFileError) as error:
        load_cohorts(path)
    assert str(error.value) == (
        f"{path}: invalid historical cohorts: cohort 'cibmtr_pasquini_2020', field 'crs_scale': "
        "Input should be 'penn' or 'astct' (got 'lee')"
    )


def test_missing_id_names_the_cohort_by_position_and_name(tmp_path: Path):
    path = write_with(tmp_path, "kadauke_pt_htb", id=...)
    with pytest.raises(CohortFileError) as error:
        load_cohorts(path)
    name = next(c["name"] for c in REFERENCE["cohorts"] if c["id"] == "kadauke_pt_htb")
    position = [c["id"] for c in REFERENCE["cohorts"]].index("kadauke_pt_htb") + 1
    assert str(error.value) == (
        f"{path}: invalid historical cohorts: cohort #{position} ({name}), field 'id': Field required"
    )


def test_every_problem_on_one_line(tmp_path: Path):
    path = write_with(tmp_path, "eliana_2018", confirmed="yes", os_12mo={"estimate": 176, "ci": [63, 86]})
    with pytest.raises(CohortFileError) as error:
        load_cohorts(path)
    message = str(error.value)
    assert "\n" not in message
    assert "cohort 'eliana_2018', field 'confirmed': Input should be a valid boolean (got 'yes')" in message
    assert "cohort 'eliana_2018', field 'os_12mo.estimate': Input should be less than or equal to 100 (got 176)" in (
        message
    )


def test_file_level_problems(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("schema_version: 2\ncohorts: []\n", encoding="utf-8")
    with pytest.raises(CohortFileError, match=r"field 'schema_version': Input should be 1 \(got 2\)"):
        load_cohorts(path)
    path.write_text("schema_version: 1\ncohorts:\n- {id: a, name: A}\n- {id: a, name: B}\n", encoding="utf-8")
    with pytest.raises(CohortFileError, match=r"duplicate cohort ids \['a'\]"):
        load_cohorts(path)
    path.write_text("schema_version: 1\ncohorts: [\n", encoding="utf-8")
    with pytest.raises(CohortFileError, match="not valid YAML"):
        load_cohorts(path)
    with pytest.raises(CohortFileError, match="cannot read"):
        load_cohorts(tmp_path / "absent.yaml")


def test_the_analyze_step_makes_it_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A settings error (the command line's exit code 2): the step fails with the one-line message, no traceback."""
    from pipelines import analyze
    from pipelines.outcome import USER_ERRORS, as_user_outcome

    assert issubclass(CohortFileError, SettingsError) and issubclass(CohortFileError, USER_ERRORS)
    bad = write_with(tmp_path, "eliana_2018", crs_scale="lee")
    monkeypatch.setattr(analyze, "HISTORICAL_COHORTS_PATH", bad)
    processed = tmp_path / "out"
    processed.mkdir()
    state = as_user_outcome(analyze.run_analyze, processed, AnalysisPlan())
    assert state.is_failed()
    assert state.message == (
        f"{bad}: invalid historical cohorts: cohort 'eliana_2018', field 'crs_scale': "
        "Input should be 'penn' or 'astct' (got 'lee')"
    )
    assert not (processed / "ard.parquet").exists()
