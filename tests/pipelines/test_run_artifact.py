"""Each `pacer run` publishes its Markdown summary as a Prefect artifact (pipelines/artifacts.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from analysis.settings import AnalysisPlan
from tests.demo_processed import copy_demo_processed

pytestmark = pytest.mark.flow


def test_the_run_summary_is_published_as_a_markdown_artifact(
    prefect_harness: None, demo_processed_original: Path, tmp_path: Path
) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from pipelines.artifacts import RUN_SUMMARY_KEY, run_summary_artifact_task

    processed = copy_demo_processed(demo_processed_original, tmp_path / "out")

    @flow(name="pacer-artifact-test")
    def publish() -> str:
        return run_summary_artifact_task(processed, AnalysisPlan())

    markdown = publish()

    async def latest() -> list:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[RUN_SUMMARY_KEY]))
            )

    artifacts = asyncio.run(latest())
    assert artifacts and artifacts[-1].type == "markdown"
    assert any(a.data == markdown for a in artifacts)
    assert "PACER-" not in markdown
