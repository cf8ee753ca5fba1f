"""What the listing triggers cost the attend transaction in PostgreSQL alone (no app): pgbench, N clients.

    uv run python -m bench.notify_cost                 # 8 clients, 5 rounds; each run 800 tx a client (6,400)
    uv run python -m bench.notify_cost --clients 1 8 32 --rounds 3

The transaction is the API's attend: insert the attendee, insert the referral, commit. Each round runs
every ``--clients`` value in turn and, for each, the three modes one after the other (so a busy machine
slows a client count's modes alike), in reverse order every other round (every run grows the tables: no
mode always runs on the biggest). Printed: each mode's tx/s, the median of the rounds; then with NOTIFY's
and no triggers' tx/s ÷ as migrated's of the same round and client count, the median of the rounds and
each round's ratio. The modes:

* ``as migrated``: the schema at head (the version bumped, no NOTIFY: migration 0006);
* ``with NOTIFY``: the same triggers announcing on ``podium_listings`` as the public lists' do (0004);
* ``no triggers``: ``ALTER TABLE … DISABLE TRIGGER USER`` (what the bookkeeping costs at all).

A notifying commit takes PostgreSQL's database-wide notify lock and holds it through its WAL flush, so
notifying writers commit one at a time: the gap between the first two modes grows with the clients.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.pg import Cluster, throwaway_cluster
from bench.run import migrate

_USERS = 200_000
_SETUP = f"""
INSERT INTO users (id, email, first_name, display_name, last_name, phone, street_1, street_2, city, state,
                   zip_code, country)
SELECT gen_random_uuid(), 'u' || g || '@bench.invalid', 'u', 'u', '', '', '', '', '', '', '', ''
FROM generate_series(1, {_USERS}) g;
INSERT INTO events (id, name, slug, join_code, owner_id, description, votable, leaderboard_enabled,
                    demo_links_optional, ysws_checks_enabled, feature_flags_csv)
SELECT gen_random_uuid(), 'Bench', 'bench', 'BENCH1', (SELECT id FROM users LIMIT 1), '', false, false,
       false, false, '';
CREATE TABLE bench_pool AS SELECT row_number() OVER () AS n, id FROM users;
CREATE UNIQUE INDEX ON bench_pool (n);
CREATE SEQUENCE bench_next;
"""
_ATTEND = """
SELECT nextval('bench_next') AS k \\gset
BEGIN;
INSERT INTO event_attendees (id, event_id, user_id)
  SELECT gen_random_uuid(), e.id, p.id FROM bench_pool p, events e WHERE p.n = :k ON CONFLICT DO NOTHING;
INSERT INTO referrals (id, content, user_id, event_id)
  SELECT gen_random_uuid(), 'bench', p.id, e.id FROM bench_pool p, events e WHERE p.n = :k;
COMMIT;
"""
_TABLES = ("event_attendees", "referrals")
_ACTIONS = ("insert", "update", "delete")


def _point_functions_at(cluster: Cluster, database: str, bump: str) -> None:
    for table in _TABLES:
        for action in _ACTIONS:
            name = f"podium_{table}_{action}_bumps"
            body = cluster.psql(database, f"SELECT prosrc FROM pg_proc WHERE proname = '{name}'")
            body = re.sub(r"podium_bump_listings(_quietly)?\(", f"{bump}(", body.strip())
            cluster.psql(
                database,
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
                f"SET search_path = pg_catalog, public AS $body${body}$body$",
            )


def _mode(cluster: Cluster, database: str, mode: str) -> None:
    quiet = mode != "with NOTIFY"
    _point_functions_at(
        cluster, database, "podium_bump_listings_quietly" if quiet else "podium_bump_listings"
    )
    state = "DISABLE" if mode == "no triggers" else "ENABLE"
    for table in _TABLES:
        cluster.psql(database, f"ALTER TABLE {table} {state} TRIGGER USER")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, nargs="+", default=[8])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--transactions", type=int, default=800, help="per client, per run")
    p.add_argument("--pg", choices=["auto", "pg15", "embedded"], default="auto")
    p.add_argument("--pg-config", choices=["tuned", "default"], default="tuned")
    args = p.parse_args(argv)
    needed = args.rounds * 3 * sum(args.clients) * args.transactions
    if needed > _USERS:
        p.error(f"{needed} attends would need more than the {_USERS} users seeded; lower a number")
    modes = ("as migrated", "with NOTIFY", "no triggers")
    rates: dict[tuple[str, int], list[float]] = {}
    with (
        throwaway_cluster(args.pg, tuned=args.pg_config == "tuned") as cluster,
        tempfile.TemporaryDirectory() as tmp,
    ):
        database = "bench_notify"
        cluster.create_database(database)
        migrate(cluster, database)
        cluster.psql(database, _SETUP)
        script = Path(tmp) / "attend.sql"
        script.write_text(_ATTEND)
        for round_ in range(args.rounds):
            for clients in args.clients:
                for mode in modes if round_ % 2 == 0 else reversed(modes):
                    _mode(cluster, database, mode)
                    out = subprocess.run(
                        [
                            str(cluster.bin_dir / "pgbench"), "-n", "-f", str(script), "-c", str(clients),
                            "-j", str(min(clients, 2)), "-t", str(args.transactions), cluster.dsn(database),
                        ],
                        capture_output=True, text=True, check=True, timeout=600,
                    )  # fmt: skip
                    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]
                    # One value a round, in round order: rates[mode, clients][r] is round r's.
                    rates.setdefault((mode, clients), []).append(tps)
                    print(f"round {round_ + 1} {mode:<12} {clients:>3} clients {tps:>8.0f} tx/s", flush=True)
    print("\nattend transaction, tx/s (median of rounds; range)")
    for clients in args.clients:
        cells = []
        for mode in modes:
            values = rates[(mode, clients)]
            cells.append(f"{mode}: {statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})")
        print(f"{clients:>3} clients  " + "   ".join(cells))
    print("\nattend transaction, tx/s ÷ as migrated's in the same round (median of rounds; each round's)")
    for clients in args.clients:
        cells = []
        for mode in ("with NOTIFY", "no triggers"):
            pairs = zip(rates[(mode, clients)], rates[("as migrated", clients)], strict=True)
            ratios = [value / migrated for value, migrated in pairs]
            each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
            cells.append(f"{mode} ÷ as migrated: {statistics.median(ratios):.2f} ({each})")
        print(f"{clients:>3} clients  " + "   ".join(cells))


if __name__ == "__main__":
    main()
