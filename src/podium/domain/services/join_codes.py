"""The brake on guessing join codes (event attendance and project collaboration).

A join code is the only secret between a stranger and an event, so lookups are counted per user and
per client address (an IPv6 client is its /64: ``client_key``). Every lookup counts, not only failed
ones: the ``RateLimiter`` port can only count a hit, and counting failures alone would leave an oracle
once the limit is reached (a wrong guess answered 429, the right one 200). The limits are sized so a real attendee never meets them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from podium.domain.clients import client_limit_key
from podium.domain.errors import Invalid, RateLimited
from podium.domain.models import User
from podium.domain.ports import JoinCodeTaken, RateLimiter
from podium.domain.rules import new_join_code

T = TypeVar("T")
# Codes are random from 31**6 ≈ 887 million: eight collisions in a row mean something else is wrong.
JOIN_CODE_ATTEMPTS = 8
NO_FREE_JOIN_CODE = "Could not allocate a join code, please retry"


async def with_fresh_join_code(
    add: Callable[[str], Awaitable[T]], *, also_retry: tuple[type[Exception], ...] = ()
) -> T:
    """Run ``add`` with a fresh join code, again with another while the code is taken (``JoinCodeTaken``,
    or one of ``also_retry``: a random slug suffix that collided): the one place events and projects get
    their codes."""
    retry: tuple[type[Exception], ...] = (JoinCodeTaken, *also_retry)
    for _ in range(JOIN_CODE_ATTEMPTS):
        try:
            return await add(new_join_code())
        except retry:
            continue
    raise Invalid(NO_FREE_JOIN_CODE)


TOO_MANY_JOIN_ATTEMPTS = "Too many join code attempts, please try again later"


@dataclass(frozen=True, slots=True)
class JoinCodePolicy:
    attempts_per_user: int = 20
    attempts_per_client: int = 300
    window_seconds: int = 600


class JoinCodeGuard:
    """Counts join-code lookups; raises ``RateLimited`` when a user or a client is over its limit."""

    def __init__(self, limiter: RateLimiter | None, policy: JoinCodePolicy | None = None) -> None:
        self._limiter = limiter
        self._policy = policy or JoinCodePolicy()

    async def check(self, action: str, user: User, client: str | None) -> None:
        if self._limiter is None:
            return
        policy = self._policy
        limits = {f"{action}:user:{user.id}": policy.attempts_per_user}
        if client:
            limits[client_limit_key(action, client)] = policy.attempts_per_client
        # The user first: a user over their own limit no longer spends the address's (a venue's NAT).
        retry_after = await self._limiter.hit_all(limits, policy.window_seconds)
        if retry_after is not None:
            raise RateLimited(TOO_MANY_JOIN_ATTEMPTS, retry_after)
