"""The analysis plan: documented defaults, loading from files, clear errors, a stable hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.settings import AnalysisPlan, SettingsError, load_settings


def test_defaults_are_those_of_grading_md() -> None:
    plan = AnalysisPlan()
    assert (plan.reading_hold_hours, plan.bolus_hold_hours, plan.pals_age) == (12.0, 1.0, "completed_years")
    assert (plan.episode_gap_hours, plan.masking_hours, plan.crs_window_days) == (24.0, 72.0, 30.0)
    assert plan.masking_drugs == (
        "anakinra",
        "tocilizumab",
        "siltuximab",
        "dexamethasone",
        "methylprednisolone",
        "hydrocortisone",
    )
    assert (
        plan.high_dose.norepinephrine,
        plan.high_dose.epinephrine,
        plan.high_dose.dopamine,
        plan.high_dose.phenylephrine,
    ) == (0.28, 0.14, 10.0, 2.86)
    assert (plan.anakinra_window_hours, plan.high_burden_pct, plan.efs_failure_day) == (6.0, 40.0, 28)
    assert (plan.primary.endpoint, plan.primary.comparator, plan.primary.alpha) == (
        "crs_grade3plus",
        "eliana_2018",
        0.05,
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("plan.toml", "episode_gap_hours = 12\npals_age = 'exact'\n[high_dose]\nnorepinephrine = 0.3\n"),
        ("plan.yaml", "episode_gap_hours: 12\npals_age: exact\nhigh_dose:\n  norepinephrine: 0.3\n"),
        ("plan.json", '{"episode_gap_hours": 12, "pals_age": "exact", "high_dose": {"norepinephrine": 0.3}}'),
    ],
)
def test_a_plan_loads_from_toml_yaml_or_json(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    plan = load_settings(tmp_path / name)
    assert (plan.episode_gap_hours, plan.pals_age, plan.high_dose.norepinephrine, plan.reading_hold_hours) == (
        12.0,
        "exact",
        0.3,
        12.0,
    )
    assert plan.settings_hash() != AnalysisPlan().settings_hash()


def test_hash_is_stable_and_follows_the_settings() -> None:
    assert AnalysisPlan().settings_hash() == AnalysisPlan().settings_hash()
    assert AnalysisPlan(high_burden_pct=50).settings_hash() != AnalysisPlan().settings_hash()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pals_age = 'weeks'\n", "pals_age: Input should be 'completed_years' or 'exact'"),
        ("masking_hours = -3\n", "masking_hours: Input should be greater than or equal to 0"),
        ("episode_gap = 24\n", "episode_gap: Extra inputs are not permitted"),
        ("episode_gap_hours = \n", "not valid TOML"),
        ("trigger_max_gap_hours = 3\n", "trigger_max_gap_hours must not be below trigger_min_gap_hours"),
        ("response_window_days = [30, 21]\n", "response_window_days must be (low, high)"),
    ],
)
def test_invalid_settings_name_the_file_and_the_setting(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "plan.toml").write_text(text)
    with pytest.raises(SettingsError) as raised:
        load_settings(tmp_path / "plan.toml")
    assert str(raised.value).startswith(f"{tmp_path / 'plan.toml'}: ")
    assert message in str(raised.value)
