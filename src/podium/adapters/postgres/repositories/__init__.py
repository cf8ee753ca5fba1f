"""Postgres implementations of the domain's ports, a module per aggregate (see :mod:`.rows` for the two
styles: Advanced Alchemy for plain CRUD, prebuilt Core statements for the hot paths)."""

from podium.adapters.postgres.repositories.events import PostgresAttendance, PostgresEvents
from podium.adapters.postgres.repositories.projects import PostgresProjects
from podium.adapters.postgres.repositories.rows import OrmSession
from podium.adapters.postgres.repositories.users import PostgresMagicLinks, PostgresUsers
from podium.adapters.postgres.repositories.votes import PostgresReferrals, PostgresVotes

__all__ = [
    "OrmSession",
    "PostgresAttendance",
    "PostgresEvents",
    "PostgresMagicLinks",
    "PostgresProjects",
    "PostgresReferrals",
    "PostgresUsers",
    "PostgresVotes",
]
