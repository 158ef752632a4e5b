"""Running a flow's tasks on an existing Dask cluster through ``prefect_dask.DaskTaskRunner``.

The simulation-heavy work (the stopping rules' operating characteristics, the IPTW bootstrap, the
partitioned derivation of a registry-sized cohort) is cut into tasks whose results never depend on
where they run; :func:`on_dask_cluster` sends those tasks to a cluster's scheduler. The cluster's
workers must be able to import this project (the same environment: ``make install``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)

if TYPE_CHECKING:  # the command line checks an address before Prefect loads
    from prefect import Flow

DASK_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://", "ws://", "wss://")

FlowT = TypeVar("FlowT", bound="Flow")


def is_dask_address(address: str) -> bool:
    """A scheduler address such as ``tcp://10.0.0.5:8786``."""
    return address.startswith(DASK_SCHEMES) and len(address) > address.index("://") + 3


def partitions_on(dask_address: str | None, partitions: int) -> int | None:
    """The flows' ``partitions``: ``partitions`` on a Dask cluster, None (one piece, in this process) without one."""
    return None if dask_address is None else partitions


def on_dask_cluster(flow: FlowT, dask_address: str | None, connect_timeout: float = 30.0) -> FlowT:
    """``flow`` with its submitted tasks sent to the Dask scheduler at ``dask_address`` (unchanged when None).

    A scheduler that does not answer within ``connect_timeout`` seconds fails the flow.
    """
    if dask_address is None:
        return flow
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(address=dask_address, client_kwargs={"timeout": f"{connect_timeout:g}s"})
    return flow.with_options(task_runner=runner)
