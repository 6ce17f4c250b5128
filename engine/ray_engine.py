"""The Ray backend: `engine.distributed.scan_partition` as plain Ray tasks.

Without an address a local Ray cluster is started; with one (`ray://head:10001`, `auto`, or
`head:6379`) the scan joins that cluster, whose nodes must have the same moneytrail installed.
A task lost with its worker or node is retried by Ray; one that still fails (or raises) fails
the scan with one line, before anything is written to the store.

Ray is an optional extra: `pip install 'moneytrail[ray]'`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import polars as pl

from engine.distributed import (
    MapPartitions,
    Partition,
    PartitionResult,
    Shared,
    run_stages,
    scan_partition,
)
from engine.errors import InputError, MoneytrailError
from engine.evaluate import CompiledRule
from engine.kinds import EvalContext

__all__ = ["INSTALL_HINT", "PartitionError", "ray_map", "require_ray", "run_stages_on_ray"]

INSTALL_HINT = "--engine ray needs Ray: pip install 'moneytrail[ray]'"
RETRIES = 3  # for a task whose worker or node died, or which raised an OSError


class PartitionError(MoneytrailError):
    """A partition failed for good on the distributed engine; the run was not written."""

    exit_code = 1


def require_ray() -> ModuleType:
    """The `ray` module.

    Raises:
        InputError: Ray is not installed (with how to install it).
    """
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise InputError(INSTALL_HINT) from None


def _connect(ray: ModuleType, address: str | None) -> None:
    if ray.is_initialized():
        return
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
    if address:
        ray.init(address=address, **quiet)
    else:
        ray.init(include_dashboard=False, **quiet)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)  # a RayTaskError wraps what the task raised
    text = str(cause if isinstance(cause, BaseException) else exc).strip()
    name = type(cause if isinstance(cause, BaseException) else exc).__name__
    return f"{name}: {text.splitlines()[0] if text else ''}"


def ray_map(
    address: str | None = None, *, progress: Callable[[str], None] = lambda _: None
) -> MapPartitions:
    """A `MapPartitions` that runs each partition as a Ray task, reporting partitions done."""
    ray = require_ray()

    def run(partitions: Sequence[Partition], shared: Shared) -> list[PartitionResult]:
        if not partitions:
            return []
        _connect(ray, address)
        task = ray.remote(max_retries=RETRIES, retry_exceptions=[OSError])(scan_partition)
        shared_ref = ray.put(shared)
        rules_refs: dict[str, Any] = {}
        pending: dict[Any, Partition] = {}
        for p in partitions:
            if p.key not in rules_refs:
                rules_refs[p.key] = ray.put(p.rules)
            ref = task.remote(ray.put(p.rows), rules=rules_refs[p.key], shared=shared_ref)
            pending[ref] = p
        order = list(pending)
        done: dict[Any, PartitionResult] = {}
        progress(f"evaluate: 0/{len(order)} partitions")
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    part = pending.pop(ref)
                    try:
                        done[ref] = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        raise PartitionError(
                            f"partition {part.key} bucket {part.bucket} failed: "
                            f"{_first_line(exc)} (nothing was written)"
                        ) from None
                progress(f"evaluate: {len(done)}/{len(order)} partitions")
        finally:
            for ref in pending:
                ray.cancel(ref)
        return [done[ref] for ref in order]

    return run


def run_stages_on_ray(
    txns: pl.DataFrame,
    compiled: Sequence[CompiledRule],
    customers: pl.DataFrame | None,
    context: EvalContext,
    /,
    *,
    buckets: int,
    address: str | None = None,
    streaming: bool = False,
    incremental: bool = False,
    on_stage: Callable[[str], None] = lambda _: None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """`engine.distributed.run_stages` with Ray tasks for the partitions.

    Raises:
        InputError: Ray is missing, or an incremental scan was asked for (not distributed yet).
        PartitionError: a partition failed for good.
    """
    if incremental:
        raise InputError("--incremental does not run on --engine ray yet: use --engine local")
    return run_stages(
        txns,
        compiled,
        customers,
        context,
        buckets=buckets,
        map_partitions=ray_map(address, progress=progress),
        streaming=streaming,
        on_stage=on_stage,
    )
