"""Signed login and access tokens: HS256 JWTs compatible with tokens minted by existing tooling."""

from __future__ import annotations

from typing import Any

import jwt

from podium.domain.ports import BadToken


class JwtCodec:
    """``TokenCodec`` over PyJWT with one symmetric key and one accepted algorithm.

    ``exp`` is required on decode (PRODUCT §3.4): the legacy backend accepted tokens without it, which
    made a leaked token valid forever.
    """

    def __init__(self, secret: str, algorithm: str = "HS256") -> None:
        if not secret:
            raise ValueError("a JWT secret is required")
        self._secret = secret
        self._algorithm = algorithm

    def encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def decode(self, token: str) -> dict[str, Any]:
        try:
            # A single-element algorithm list is what rejects ``alg: none`` and algorithm confusion.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError as exc:
            raise BadToken(str(exc)) from exc
        if not isinstance(claims, dict):  # pragma: no cover - PyJWT always returns a dict
            raise BadToken("claims are not an object")
        return claims
