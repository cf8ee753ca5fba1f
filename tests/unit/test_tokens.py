"""JwtCodec: what a valid token is, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
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


def test_a_non_hmac_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="HS256, HS384, HS512"):
        JwtCodec(SECRET, "RS256")


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _respelled_low_bits(segment: str) -> str:
    return segment[:-1] + _ALPHABET[_ALPHABET.index(segment[-1]) ^ 0b01]


NON_CANONICAL = {
    "signature padded": lambda t: t + "=",
    "signature spare bits": lambda t: ".".join([*t.split(".")[:2], _respelled_low_bits(t.split(".")[2])]),
    "header padded": lambda t: t.replace(".", "=.", 1),
    "standard alphabet": lambda t: t.replace("-", "+").replace("_", "/"),
    "surrounding space": lambda t: f" {t} ",
    "line break": lambda t: t + "\n",
    "four segments": lambda t: t + ".e30",
    "empty signature": lambda t: t.rpartition(".")[0] + ".",
    "over 4096 characters": lambda t: t[:-1] + "A" * 4097,
}


@pytest.mark.parametrize("respell", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_only_the_canonical_spelling_is_accepted(codec: JwtCodec, respell: Any) -> None:
    # A token whose signature ends in a character with spare bits and contains both "-" and "_" somewhere,
    # so every re-spelling above really differs from it.
    token = next(
        t
        for t in (codec.encode(_claims(n=n)) for n in range(1000))
        if "-" in t and "_" in t and _ALPHABET.index(t[-1]) & 0b11 == 0
    )
    respelled = respell(token)
    assert respelled != token
    with pytest.raises(BadToken):
        codec.decode(respelled)
    with pytest.raises(BadToken):
        codec.fingerprint(respelled)


def test_the_fingerprint_is_the_hash_of_the_signature_bytes(codec: JwtCodec) -> None:
    token = codec.encode(_claims())
    signature = base64.urlsafe_b64decode(token.split(".")[2] + "=")
    assert codec.fingerprint(token) == hashlib.sha256(signature).hexdigest()
    assert codec.fingerprint(codec.encode(_claims(jti="other"))) != codec.fingerprint(token)


@pytest.mark.parametrize(
    "dates",
    [
        # Built when the test runs, not when it is collected: a long suite must not let them expire.
        lambda: {"exp": time.time() + 600.5},
        lambda: {"iat": time.time() - 0.25, "nbf": time.time() - 0.75},
        lambda: {"exp": 1e20},
        lambda: {"exp": 2**62},
    ],
    ids=["fractional exp", "fractional iat and nbf", "exp as a float far ahead", "exp as a large integer"],
)
def test_numeric_dates_may_be_fractional(codec: JwtCodec, dates: Callable[[], dict[str, float]]) -> None:
    claims = _claims(**dates())
    assert codec.decode(codec.encode(claims)) == claims


@pytest.mark.parametrize(
    "dates",
    [
        lambda: {"exp": str(int(time.time()) + 600)},
        lambda: {"exp": True},
        lambda: {"exp": 10**400},
        lambda: {"exp": [int(time.time()) + 600]},
        lambda: {"iat": "0"},
        lambda: {"nbf": None, "exp": int(time.time()) + 600},
    ],
    ids=["exp a string", "exp a boolean", "exp past any float", "exp a list", "iat a string", "nbf null"],
)
def test_a_numeric_date_that_is_no_number_is_refused(
    codec: JwtCodec, dates: Callable[[], dict[str, Any]]
) -> None:
    with pytest.raises(BadToken):
        codec.decode(codec.encode(_claims(**dates())))


def test_a_decoded_token_is_kept_until_its_expiry_and_no_longer() -> None:
    now = [time.time()]
    codec = JwtCodec(SECRET, "HS256", kept=1, clock=lambda: now[0])
    original = _claims()
    kept, evicted = codec.encode(original), codec.encode(_claims(jti="b"))
    assert codec.decode(evicted)["jti"] == "b"
    claims = codec.decode(kept)  # evicts the other: one token kept
    claims["sub"] = "mallory@example.com"  # a caller's copy: the kept claims are not changed
    assert codec.decode(kept) == original
    now[0] += 601  # past ``exp`` by the codec's clock: the kept token is refused from memory ...
    with pytest.raises(BadToken, match="expired"):
        codec.decode(kept)
    # ... while the evicted one is checked afresh (PyJWT's clock still says it is valid).
    assert codec.decode(evicted)["jti"] == "b"
    with pytest.raises(BadToken):  # a bad token is never kept, however often it is tried
        codec.decode(kept[:-2] + "xx")
