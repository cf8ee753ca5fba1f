from __future__ import annotations

import pytest

from podium.adapters.memory.store import MemoryStore


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()
