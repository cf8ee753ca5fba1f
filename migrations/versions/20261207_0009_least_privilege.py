"""Least privilege in the schema (issue 22): functions that run as their owner trust nothing of the caller's.

* The listing functions (migrations 0004 and 0006) ran with ``search_path = pg_catalog, public``: with
  ``pg_temp`` left out, PostgreSQL searches the session's temporary schema *first*, so a role with only
  DML rights (the admin UI's) could shadow ``events`` and ``event_listing_versions`` with temp tables, put
  a trigger on one, and have it run as the owner (a superuser: ``ALTER ROLE … SUPERUSER``). Every function
  of the schema is now re-created with its tables schema-qualified and ``search_path = pg_catalog, public,
  pg_temp`` (temporary objects last, so never chosen over ours); invoker functions too (the deleted-event
  guard reads ``events``: a temp table would have switched it off for its creator).
* EXECUTE on every function is revoked from PUBLIC, and so are the owner's default privileges for
  functions created later: nobody but the owner calls ``podium_bump_listings`` directly (a trigger fires
  its function without the writer needing EXECUTE).
* CREATE on schema ``public`` is revoked from PUBLIC (already PostgreSQL 15's default; older servers
  and hosted ones may differ): no role can add an overload that a function of ours would resolve to.
* ``users.is_superadmin`` changes only by the schema's owner (``podium admin grant``): a trigger refuses
  it to any other role, whatever a table grant says (PRODUCT §6: superadmins from the command line only).
* ``events.feature_flags_csv`` defaults to '' in the schema too: the admin UI's role, which may not write
  it (it puts an event into an official series: superadmins only), can still create events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE_PATH = "pg_catalog, public, pg_temp"
_OLD_PATH = "pg_catalog, public"
CHANNEL = "podium_listings"

_BUMP_INTO = """
    INSERT INTO public.event_listing_versions AS v (event_id, slot, version)
    SELECT e.id, (pg_catalog.txid_current() % 16)::smallint, 1
    FROM public.events e WHERE e.id = ANY (event_ids)
    ORDER BY e.id
    ON CONFLICT (event_id, slot) DO UPDATE SET version = v.version + 1;"""
_BUMP = f"""
CREATE OR REPLACE FUNCTION public.podium_bump_listings(event_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
DECLARE
    changed uuid;
BEGIN
    -- Only events that still exist get a counter (a cascade from a deleted event finds none).{_BUMP_INTO}
    FOR changed IN SELECT DISTINCT u FROM pg_catalog.unnest(event_ids) AS u WHERE u IS NOT NULL LOOP
        PERFORM pg_catalog.pg_notify('{CHANNEL}', changed::text);
    END LOOP;
END $$
"""
_QUIET_BUMP = f"""
CREATE OR REPLACE FUNCTION public.podium_bump_listings_quietly(event_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN
    -- As podium_bump_listings, without the NOTIFY (migration 0006).{_BUMP_INTO}
END $$
"""
_BUMP_ALL = f"""
CREATE OR REPLACE FUNCTION public.podium_bump_all_listings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN
    PERFORM public.podium_bump_listings(ARRAY(SELECT id FROM public.events));
    RETURN NULL;
END $$
"""

# As migration 0004's, schema-qualified (``{rows}``: a transition table or a subset of one).
_EVENTS_OF: dict[str, str] = {
    "projects": "SELECT event_id FROM {rows}",
    "votes": "SELECT event_id FROM {rows}",
    "event_attendees": "SELECT event_id FROM {rows}",
    "referrals": "SELECT event_id FROM {rows}",
    "project_collaborators": "SELECT p.event_id FROM {rows} r JOIN public.projects p ON p.id = r.project_id",
    "users": (
        "SELECT p.event_id FROM public.projects p WHERE p.owner_id IN (SELECT id FROM {rows})"
        " UNION SELECT p.event_id FROM public.projects p JOIN public.project_collaborators c"
        " ON c.project_id = p.id WHERE c.user_id IN (SELECT id FROM {rows})"
        " UNION SELECT a.event_id FROM public.event_attendees a WHERE a.user_id IN (SELECT id FROM {rows})"
    ),
    "events": "SELECT id FROM {rows}",
}
_ACTIONS: dict[str, tuple[str, ...]] = {"users": ("update",), "events": ("update", "delete")}
# Attendance and referrals bump without NOTIFY (migration 0006).
_QUIET_TABLES = ("event_attendees", "referrals")
_CHANGED = (
    "WITH was AS (SELECT * FROM old_rows EXCEPT ALL SELECT * FROM new_rows),"
    " now AS (SELECT * FROM new_rows EXCEPT ALL SELECT * FROM old_rows)"
)


def _trigger_functions() -> list[str]:
    statements = []
    for table, events_of in _EVENTS_OF.items():
        bump = "podium_bump_listings_quietly" if table in _QUIET_TABLES else "podium_bump_listings"
        for action in _ACTIONS.get(table, ("insert", "update", "delete")):
            events = {
                "insert": events_of.format(rows="new_rows"),
                "delete": events_of.format(rows="old_rows"),
                "update": f"{_CHANGED} {events_of.format(rows='was')} UNION {events_of.format(rows='now')}",
            }[action]
            statements.append(f"""
CREATE OR REPLACE FUNCTION public.podium_{table}_{action}_bumps() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN
    PERFORM public.{bump}(ARRAY({events}));
    RETURN NULL;
END $$""")
    return statements


_REFUSE_DELETED = f"""
CREATE OR REPLACE FUNCTION public.podium_refuse_deleted_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = {SAFE_PATH} AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM public.events WHERE id = NEW.event_id AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'event % is deleted', NEW.event_id USING ERRCODE = 'check_violation',
            CONSTRAINT = 'event_not_deleted';
    END IF;
    RETURN NEW;
END $$
"""
_GUARD_SUPERADMIN = f"""
CREATE FUNCTION public.podium_guard_superadmin() RETURNS trigger
LANGUAGE plpgsql SET search_path = {SAFE_PATH} AS $$
BEGIN
    -- Invoker rights: current_user is the writer. The schema's owner (the application, `podium admin`)
    -- and the roles it is granted to may; nobody else, whatever their grants on the table.
    IF (TG_OP = 'INSERT' AND NEW.is_superadmin)
       OR (TG_OP = 'UPDATE' AND NEW.is_superadmin IS DISTINCT FROM OLD.is_superadmin) THEN
        IF NOT pg_catalog.pg_has_role(current_user,
                (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'USAGE') THEN
            RAISE EXCEPTION 'only the application grants or revokes superadmin (podium admin grant)'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END $$
"""
_GUARD_TRIGGER = """
CREATE TRIGGER users_guard_superadmin BEFORE INSERT OR UPDATE OF is_superadmin ON public.users
FOR EACH ROW EXECUTE FUNCTION public.podium_guard_superadmin()
"""
_EVERY_FUNCTION = """
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname LIKE 'podium\\_%' LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = {path}', f);
        EXECUTE pg_catalog.format('{verb} EXECUTE ON FUNCTION %s {direction} PUBLIC', f);
    END LOOP;
END $$
"""


def upgrade() -> None:
    for statement in (_BUMP, _QUIET_BUMP, _BUMP_ALL, *_trigger_functions(), _REFUSE_DELETED):
        op.execute(statement)
    op.execute("ALTER TABLE public.events ALTER COLUMN feature_flags_csv SET DEFAULT ''")
    op.execute(_GUARD_SUPERADMIN)
    op.execute(_GUARD_TRIGGER)
    op.execute(_EVERY_FUNCTION.format(path=SAFE_PATH, verb="REVOKE", direction="FROM"))
    op.execute("ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")
    # A warning, not an error, where the migrating role does not own the schema (some hosted servers).
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def downgrade() -> None:
    op.execute("ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC")
    op.execute("DROP TRIGGER users_guard_superadmin ON public.users")
    op.execute("DROP FUNCTION public.podium_guard_superadmin()")
    op.execute("ALTER TABLE public.events ALTER COLUMN feature_flags_csv DROP DEFAULT")
    # The functions keep their qualified bodies (the same behaviour); the grants and paths go back.
    op.execute(_EVERY_FUNCTION.format(path=_OLD_PATH, verb="GRANT", direction="TO"))
    op.execute("ALTER FUNCTION public.podium_refuse_deleted_event() RESET search_path")
    op.execute("ALTER FUNCTION public.podium_event_phase_sync() RESET search_path")
