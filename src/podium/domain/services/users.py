"""Sign-up, profiles and the public view of people (legacy §2.2)."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from podium.domain.errors import Invalid, NotFound
from podium.domain.models import User
from podium.domain.ports import DisposableEmails, UnitOfWorkFactory
from podium.domain.rules import DISPOSABLE_EMAIL, normalize_email

UPDATABLE_FIELDS = frozenset(
    {
        "display_name",
        "first_name",
        "last_name",
        "phone",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip_code",
        "country",
        "dob",
    }
)


class UserService:
    def __init__(self, uow: UnitOfWorkFactory, disposable: DisposableEmails | None = None) -> None:
        self._uow = uow
        self._disposable = disposable

    async def exists(self, email: str) -> bool:
        async with self._uow(read_only=True) as uow:
            return await uow.users.get_by_email(normalize_email(email)) is not None

    async def sign_up(self, email: str, first_name: str, **profile: Any) -> UUID:
        """Create an account; the email is the login identity and must be new."""
        user = User(email=normalize_email(email), first_name=first_name, **profile)
        if self._disposable is not None and self._disposable.is_disposable(user.email):
            raise Invalid(DISPOSABLE_EMAIL)
        async with self._uow() as uow:
            if await uow.users.get_by_email(user.email) is not None or not await uow.users.add(user):
                raise Invalid("User already exists")
            await uow.commit()
        return user.id

    async def public(self, user_id: UUID) -> User:
        user = await self._uow.read_public(lambda uow: uow.users.get(user_id))
        if user is None:
            raise NotFound("User not found")
        return user

    async def private(self, user: User) -> tuple[User, list[UUID]]:
        """The caller's own profile, with the ids of their votes."""
        return user, await self._uow.lookups.vote_ids_by_voter(user.id)

    async def update(self, user: User, changes: dict[str, Any]) -> tuple[User, list[UUID]]:
        """Apply the given fields (``None`` means "leave as is"; ``""`` clears)."""
        changes = {k: v for k, v in changes.items() if k in UPDATABLE_FIELDS and v is not None}
        if not changes:
            raise Invalid("No fields to update")
        async with self._uow() as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise NotFound("User not found")
            updated = dataclasses.replace(current, **changes)
            await uow.users.update(updated)
            vote_ids = await uow.votes.ids_by_voter(user.id)
            await uow.commit()
        return updated, vote_ids
