"""The schemas build as pandas models without pandera's other backends (analysis.schemas.base.pandas_index_types)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandera.api.pandas.model as pandas_model
import pandera.typing
import pytest

from analysis.schemas import OUTPUT_SCHEMAS
from analysis.schemas.base import pandas_index_types, pandas_series_types

REPO = Path(__file__).resolve().parents[2]


def test_the_pandas_answers_are_among_panderas_own() -> None:
    assert pandas_index_types() == {pandera.typing.Index}
    assert pandas_series_types() == {pandera.typing.Series}
    assert pandas_index_types() <= pandera.typing.get_index_types()
    assert pandas_series_types() <= pandera.typing.get_series_types()


@pytest.mark.parametrize("file_name", sorted(OUTPUT_SCHEMAS))
def test_every_schema_is_the_one_pandera_builds_with_every_backend(
    file_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = OUTPUT_SCHEMAS[file_name].model
    pandas_only = model.build_schema_()
    monkeypatch.setattr(pandas_model, "get_index_types", pandera.typing.get_index_types)
    monkeypatch.setattr(pandas_model, "get_series_types", pandera.typing.get_series_types)
    every_backend = model.build_schema_()
    assert pandas_only == every_backend
    assert list(pandas_only.columns) == list(every_backend.columns)


def test_validating_a_table_imports_no_dask_dataframe() -> None:
    script = (
        "import sys, pandas as pd\n"
        "from analysis.schemas import OutputSchemaError, validate_output\n"
        "try:\n"
        "    validate_output('participants.parquet', pd.DataFrame({'participant_id': ['P1']}))\n"
        "except OutputSchemaError as error:\n"
        "    print('refused' if 'participants.parquet' in str(error) else 'other error')\n"
        "print('dask.dataframe' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert completed.stdout.strip().splitlines() == ["refused", "False"], completed.stderr[-2000:]
