"""JwtCodec: what a valid token is, and every way a token is refused."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from podium.adapters.tokens import JwtCodec
from podium.domain.ports import BadToken

# 64 bytes: long enough for HS512 too, so PyJWT raises no key-length warning in the HS512 case.
SECRET = "unit-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"


@pytest.fixture
def codec() -> JwtCodec:
    return JwtCodec(SECRET, "HS256")


def _claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "ada@example.com", "token_type": "access", "exp": int(time.time()) + 600, **extra}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip_returns_the_claims(codec: JwtCodec) -> None:
    claims = _claims()
    assert codec.decode(codec.encode(claims)) == claims


def test_token_minted_externally_with_the_shared_secret_is_accepted(codec: JwtCodec) -> None:
    claims = _claims(token_type="magic_link")
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert codec.decode(token) == claims


def _expired() -> str:
    return jwt.encode(_claims(exp=int(time.time()) - 10), SECRET, algorithm="HS256")


def _without_exp() -> str:
    return jwt.encode({"sub": "ada@example.com", "token_type": "access"}, SECRET, algorithm="HS256")


def _alg_none() -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."


def _wrong_secret() -> str:
    return jwt.encode(
        _claims(), "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789", algorithm="HS256"
    )


def _tampered() -> str:
    header, _, signature = jwt.encode(_claims(), SECRET, algorithm="HS256").split(".")
    return f"{header}.{_b64(_claims(sub='admin@example.com'))}.{signature}"


def _other_algorithm() -> str:
    return jwt.encode(_claims(), SECRET, algorithm="HS512")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(_expired, id="expired"),
        pytest.param(_without_exp, id="no-exp"),
        pytest.param(_alg_none, id="alg-none"),
        pytest.param(_wrong_secret, id="wrong-secret"),
        pytest.param(_tampered, id="tampered-payload"),
        pytest.param(_other_algorithm, id="hs512-when-hs256-configured"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(lambda: "", id="empty"),
    ],
)
def test_bad_tokens_are_refused(codec: JwtCodec, make_token: Any) -> None:
    with pytest.raises(BadToken):
        codec.decode(make_token())


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        JwtCodec("", "HS256")
