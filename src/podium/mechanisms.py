"""The speed mechanisms, each of which a benchmark can switch off to measure what it earns.

``PODIUM_BENCH_WITHOUT`` names the ones to switch off (comma-separated; empty in every real deployment).
``bench.run --without NAME`` starts the service with it, next to a run with everything on, and prints each
scenario's ratio; docs/benchmarks.md keeps the table. The variable is read once, at import, because some
mechanisms act at start-up (``gc.freeze``).

- ``coalesced_reads``: concurrent point reads of one kind (listing versions, users by email, vote ids)
  answered by one query (``adapters/coalesce.py``, ``adapters/lookups.py``), and a cached list brought up
  to date by one query shared by its concurrent readers (``http/listing_cache.py``; without it, a version
  lookup and then the read of what changed);
- ``shared_connection``: the read-only units of work of one request share one autocommit connection,
  returned to the pool before the body is sent (``adapters/postgres/uow.py``);
- ``gc_freeze``: objects allocated at start-up moved out of the collector's reach (``http/app.py``).

Two more are switched without this variable: the listing cache (``PODIUM_LEADERBOARD_CACHE=false``) and the
16 counter slots per event of the listing triggers (``bench.run --without version_slots`` replaces the
trigger function for the run).
"""

from __future__ import annotations

import os

MECHANISMS = ("coalesced_reads", "shared_connection", "gc_freeze")
VARIABLE = "PODIUM_BENCH_WITHOUT"


def switched_off(raw: str) -> frozenset[str]:
    """The mechanisms a ``PODIUM_BENCH_WITHOUT`` value names (comma-separated); an unknown name is refused."""
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(names - set(MECHANISMS))
    if unknown:
        raise ValueError(
            f"{VARIABLE}: unknown mechanism(s) {', '.join(unknown)}; known: {', '.join(MECHANISMS)}"
        )
    return names


OFF = switched_off(os.environ.get(VARIABLE, ""))


def enabled(name: str) -> bool:
    """Whether the mechanism ``name`` (one of ``MECHANISMS``) is on in this process."""
    assert name in MECHANISMS, name
    return name not in OFF
