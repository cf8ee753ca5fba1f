from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import JSONBody, QueryParameter

from podium.domain.models import User
from podium.domain.rules import is_valid_email
from podium.domain.services.users import UserService
from podium.http.auth import AUTHENTICATE, requires_human
from podium.http.params import IdPath, uuid_param
from podium.http.schemas import (
    UserCreated,
    UserExistsResponse,
    UserPrivate,
    UserPublic,
    UserSignup,
    UserUpdate,
)


class UsersController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/exists", operation_id="user_exists_users_exists_get", guards=[requires_human])
    async def exists(
        self,
        email: Annotated[str, QueryParameter(max_length=320, format=OpenAPIFormat.EMAIL)],
        users: NamedDependency[UserService],
    ) -> UserExistsResponse:
        """Does an account exist for this email? Any syntactically valid address gets an answer."""
        if not is_valid_email(email):
            raise ValidationException(
                extra=[{"key": "email", "source": "query", "message": "value is not a valid email address"}]
            )
        return UserExistsResponse(exists=await users.exists(email))

    @get("/current", operation_id="get_current_user_info_users_current_get", opt={AUTHENTICATE: True})
    async def current(self, user: NamedDependency[User], users: NamedDependency[UserService]) -> UserPrivate:
        """The caller's own profile (with the ids of their votes)."""
        user, vote_ids = await users.private(user)
        return UserPrivate.of(user, vote_ids)

    @put("/current", operation_id="update_current_user_users_current_put", opt={AUTHENTICATE: True})
    async def update_current(
        self, data: JSONBody[UserUpdate], user: NamedDependency[User], users: NamedDependency[UserService]
    ) -> UserPrivate:
        """Change the caller's profile; absent or null fields stay as they are."""
        changes = {name: getattr(data, name) for name in data.__struct_fields__}
        updated, vote_ids = await users.update(user, changes)
        return UserPrivate.of(updated, vote_ids)

    @get("/{user_id:str}", operation_id="get_user_public_users__user_id__get")
    async def public(self, user_id: IdPath, users: NamedDependency[UserService]) -> UserPublic:
        """Someone's public profile."""
        return UserPublic.of(await users.public(uuid_param(user_id, "user_id")))

    @post("/", operation_id="create_user_users__post", status_code=200, guards=[requires_human])
    async def sign_up(self, data: JSONBody[UserSignup], users: NamedDependency[UserService]) -> UserCreated:
        """Open sign-up. The email is trimmed and lower-cased."""
        profile = {
            name: getattr(data, name)
            for name in data.__struct_fields__
            if name not in ("email", "first_name")
        }
        profile = {k: ("" if v is None and k != "dob" else v) for k, v in profile.items()}
        return UserCreated(id=await users.sign_up(data.email, data.first_name, **profile))
