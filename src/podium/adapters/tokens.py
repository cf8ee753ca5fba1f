"""Signed login and access tokens: HS256 JWTs compatible with tokens minted by existing tooling."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jwt

from podium.domain.ports import BadToken

# Only symmetric algorithms: the one key is a shared secret (PODIUM_JWT_SECRET).
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
# Ours are ~200 characters; anything far longer is not a token of this service and is not worth decoding.
MAX_TOKEN_LENGTH = 4096
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
# RFC 7519 §2 NumericDate claims: a JSON number, integer or fractional.
NUMERIC_DATES = ("exp", "nbf", "iat")
# Tokens whose checked claims are kept: every authenticated request decodes one, and the checks (HMAC,
# canonical base64url, JSON) cost more than the rest of the guard. ~1 KB each.
DECODED_TOKENS_KEPT = 4096


class JwtCodec:
    """``TokenCodec`` over PyJWT with one symmetric key and one accepted algorithm.

    ``exp`` is required on decode (PRODUCT §3.4): the legacy backend accepted tokens without it, which
    made a leaked token valid forever.

    Only the canonical spelling of a token is accepted: three segments of unpadded base64url whose
    unused low bits are zero (RFC 7515 §2, RFC 4648 §3.5). PyJWT alone also takes ``=`` padding and,
    depending on its version, other encodings of the same bytes; a second spelling of a single-use
    magic link would otherwise be a second link.
    """

    def __init__(
        self,
        secret: str,
        algorithm: str = "HS256",
        *,
        kept: int = DECODED_TOKENS_KEPT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("a JWT secret is required")
        if algorithm not in HMAC_ALGORITHMS:
            raise ValueError(f"the JWT algorithm must be one of {', '.join(HMAC_ALGORITHMS)}")
        self._secret = secret
        self._algorithm = algorithm
        # The claims of the ``kept`` tokens decoded last (least recently used out first), by their exact
        # text: a token is only ever accepted until its ``exp``, whichever way it is answered. Nothing
        # else can make a token invalid (there is no revocation; a deleted user is looked up afresh).
        self._kept = kept
        self._decoded: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._clock = clock

    def encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def decode(self, token: str) -> dict[str, Any]:
        claims = self._decoded.get(token) if isinstance(token, str) else None
        if claims is not None:
            if claims["exp"] <= self._clock():  # as PyJWT: valid strictly before ``exp``
                del self._decoded[token]
                raise BadToken("Signature has expired")
            self._decoded.move_to_end(token)
            return dict(claims)
        claims = self._check(token)
        if self._kept > 0:
            self._decoded[token] = claims
            if len(self._decoded) > self._kept:
                self._decoded.popitem(last=False)
        return dict(claims)

    def _check(self, token: str) -> dict[str, Any]:
        _signature(token)  # refuses any spelling but the canonical one
        try:
            # A single-element algorithm list is what rejects ``alg: none`` and algorithm confusion.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["exp"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError) as exc:
            # Whatever an untrusted token makes the library trip on, it is a bad token, never a fault.
            raise BadToken(str(exc)) from exc
        if not isinstance(claims, dict):  # pragma: no cover - PyJWT always returns a dict
            raise BadToken("claims are not an object")
        for name in NUMERIC_DATES:
            if name in claims and not _is_numeric_date(claims[name]):
                # PyJWT takes anything ``int()`` takes, such as the string "1700000000" or ``true``.
                raise BadToken(f"the {name} claim is not a NumericDate")
        return claims

    def fingerprint(self, token: str) -> str:
        """SHA-256 of the token's decoded signature: one value per token, whatever its spelling."""
        return hashlib.sha256(_signature(token)).hexdigest()


def _signature(token: str) -> bytes:
    """The signature bytes of a token in canonical compact form; ``BadToken`` for any other form."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise BadToken("not a token of this service")
    segments = token.split(".")
    if len(segments) != 3:
        raise BadToken("a token has three segments")
    decoded = [_canonical_segment(segment) for segment in segments]
    return decoded[2]


def _canonical_segment(segment: str) -> bytes:
    # ``fullmatch`` over an ASCII class: no padding, no whitespace, no "+/" alphabet, no empty segment.
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise BadToken("a segment is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - excluded by the pattern above
        raise BadToken("a segment is not base64url") from exc
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        # The same bytes have exactly one canonical spelling: spare low bits must be zero.
        raise BadToken("a segment is not canonical base64url")
    return data


def _is_numeric_date(value: object) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer no float can hold: no instant anyone means
        return False
