"""Users (lookups by id and email, sign-up, profile edits) and consumed magic links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from uuid import UUID

from sqlalchemy import Text, any_, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.adapters.postgres.models import ConsumedMagicLinkModel, UserModel
from podium.adapters.postgres.repositories.rows import (
    OrmSession,
    UserRepository,
    columns_of,
    fields_of,
    mapper,
    one,
    values_of,
)
from podium.domain.models import User

USER_FIELDS = fields_of(User)
USERS = UserModel.__table__
USER_COLUMNS = columns_of(USERS, User)
to_user = mapper(User, USER_FIELDS)

_USER_BY_ID = select(*USER_COLUMNS).where(USERS.c.id == bindparam("key"))
_USER_BY_EMAIL = select(*USER_COLUMNS).where(USERS.c.email == bindparam("key"))
_USERS_BY_EMAIL = select(*USER_COLUMNS).where(USERS.c.email == any_(bindparam("keys", type_=ARRAY(Text))))
_ADD_USER = (
    pg_insert(UserModel)
    .values({name: bindparam(name) for name in USER_FIELDS})
    .on_conflict_do_nothing(index_elements=["email"])
    .returning(UserModel.id)
)


class PostgresUsers:
    def __init__(self, connection: AsyncConnection, orm: OrmSession | None = None) -> None:
        self._orm = orm or OrmSession(connection)
        self._db = connection

    async def get(self, user_id: UUID) -> User | None:
        row = await one(self._db, _USER_BY_ID, user_id)
        return None if row is None else to_user(row)

    async def get_by_email(self, email: str) -> User | None:
        row = await one(self._db, _USER_BY_EMAIL, email)
        return None if row is None else to_user(row)

    async def get_many_by_email(self, emails: Collection[str]) -> dict[str, User]:
        rows = await self._db.execute(_USERS_BY_EMAIL, {"keys": list(emails)})
        return {user.email: user for user in map(to_user, rows)}

    async def add(self, user: User) -> bool:
        return (await self._db.execute(_ADD_USER, values_of(user, USER_FIELDS))).first() is not None

    async def update(self, user: User) -> None:
        repository = await self._orm.repository(UserRepository)
        values = values_of(user, USER_FIELDS)
        values.pop("email")  # the login identity never changes
        values.pop("is_superadmin")  # granted and revoked only from the command line
        await repository.update(UserModel(**values), auto_refresh=False)


_CONSUME_MAGIC_LINK = (
    pg_insert(ConsumedMagicLinkModel)
    .values(token_hash=bindparam("token_hash"), expires_at=bindparam("expires_at"))
    .on_conflict_do_nothing(index_elements=["token_hash"])
    .returning(ConsumedMagicLinkModel.token_hash)
)


class PostgresMagicLinks:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def consume(self, token_hash: str, expires_at: dt.datetime) -> bool:
        # Links past their expiry are rejected by their signature check anyway; forget them.
        await self._db.execute(
            delete(ConsumedMagicLinkModel).where(ConsumedMagicLinkModel.expires_at < func.now())
        )
        params = {"token_hash": token_hash, "expires_at": expires_at}
        return (await self._db.execute(_CONSUME_MAGIC_LINK, params)).first() is not None
