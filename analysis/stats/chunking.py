"""Sharing a list of independent work blocks among tasks (the unit of work of one Prefect task)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

Block = TypeVar("Block")


def split_blocks(blocks: Sequence[Block], chunks: int) -> list[list[Block]]:
    """``blocks`` in at most ``chunks`` contiguous, near-equal, non-empty groups.

    Examples
    --------
    >>> split_blocks(["a", "b", "c", "d", "e"], 2)
    [['a', 'b', 'c'], ['d', 'e']]
    >>> split_blocks(["a"], 3)
    [['a']]
    """
    if chunks < 1:
        raise ValueError(f"chunks must be at least 1, got {chunks}")
    return [
        [blocks[i] for i in part]
        for part in np.array_split(np.arange(len(blocks)), min(chunks, len(blocks)))
        if len(part)
    ]
