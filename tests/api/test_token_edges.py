"""Tokens at the edges (issue 10 §1, §2, §5): single use whatever the spelling, fractional NumericDates,
401 for any bearer token of the wrong kind, and no token at all that reaches the 500 mapper."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import SignUp, mint
from tests.conftest import TEST_SECRET

Client = AsyncTestClient[Any]
INVALID_TOKEN = {"detail": "Invalid token"}
INVALID_CREDENTIALS = {"detail": "Invalid authentication credentials"}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: str, payload: str, secret: str = TEST_SECRET) -> str:
    """A token over raw header and payload JSON texts, HS256-signed with the shared secret: it passes the
    signature check, so whatever is odd inside it reaches the code behind that check."""
    signing_input = f"{_b64(header.encode())}.{_b64(payload.encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(email: str, kind: str = "magic_link", **changes: Any) -> str:
    claims = {"sub": email, "token_type": kind, "exp": int(time.time()) + 600, **changes}
    return json.dumps({k: v for k, v in claims.items() if v is not None})


HS256 = '{"alg":"HS256","typ":"JWT"}'


def _not_utf8(payload: str) -> str:
    header = b'{"alg":"HS256","x":"\xff"}'
    signing_input = f"{_b64(header)}.{_b64(payload.encode())}"
    signature = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _spare_bits_changed(token: str) -> str:
    """The same signature bytes, spelled with other (ignored) low bits in its last character."""
    head, _, signature = token.rpartition(".")
    # 32 bytes in 43 characters: the last one carries 2 bits that encode nothing.
    value = _ALPHABET.index(signature[-1])
    respelled = signature[:-1] + _ALPHABET[value ^ 0b01]
    assert base64.urlsafe_b64decode(respelled + "=") == base64.urlsafe_b64decode(signature + "=")
    return f"{head}.{respelled}"


RESPELLINGS: dict[str, Callable[[str], str]] = {
    "one padding character": lambda token: token + "=",
    "two padding characters": lambda token: token + "==",
    "spare low bits of the signature": _spare_bits_changed,
    "spare bits and padding": lambda token: _spare_bits_changed(token) + "=",
}


# §1: a magic link works once, whatever the spelling of the second copy (PRODUCT §3.5).


@pytest.mark.parametrize("respell", RESPELLINGS.values(), ids=RESPELLINGS.keys())
async def test_a_used_magic_link_cannot_be_replayed_respelled(
    client: Client, sign_up: SignUp, respell: Callable[[str], str]
) -> None:
    person = await sign_up()
    link = mint(person.email, "magic_link", minutes=20)
    first = await client.get("/verify", params={"token": link})
    assert first.status_code == 200, first.text
    replay = await client.get("/verify", params={"token": respell(link)})
    assert replay.status_code == 400, replay.text
    assert replay.json() == INVALID_TOKEN


@pytest.mark.parametrize("respell", RESPELLINGS.values(), ids=RESPELLINGS.keys())
async def test_a_respelled_magic_link_is_refused_and_leaves_the_link_unused(
    client: Client, sign_up: SignUp, respell: Callable[[str], str]
) -> None:
    person = await sign_up()
    link = mint(person.email, "magic_link", minutes=20)
    respelled = await client.get("/verify", params={"token": respell(link)})
    assert respelled.status_code == 400, respelled.text
    assert respelled.json() == INVALID_TOKEN
    assert (await client.get("/verify", params={"token": link})).status_code == 200


@pytest.mark.parametrize("respell", RESPELLINGS.values(), ids=RESPELLINGS.keys())
async def test_a_respelled_access_token_is_refused(
    client: Client, sign_up: SignUp, respell: Callable[[str], str]
) -> None:
    person = await sign_up()
    response = await client.get(
        "/users/current", headers={"Authorization": f"Bearer {respell(person.token)}"}
    )
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_CREDENTIALS


async def test_links_asked_for_in_one_second_are_distinct_and_each_single_use(
    client: Client, sign_up: SignUp, caplog: pytest.LogCaptureFixture
) -> None:
    person = await sign_up()
    caplog.set_level("INFO")
    for _ in range(2):
        sent = await client.post("/request-login", params={"redirect": ""}, json={"email": person.email})
        assert sent.status_code == 200, sent.text
    links = [
        r.getMessage().split("token=")[1].split()[0].split("&")[0]
        for r in caplog.records
        if r.name == "podium.mail" and "token=" in r.getMessage()
    ]
    assert len(links) == 2
    assert links[0] != links[1]
    statuses = [
        (await client.get("/verify", params={"token": link})).status_code for link in [*links, *links]
    ]
    assert statuses == [200, 200, 400, 400]


# §2: RFC 7519 NumericDates may be fractional (PRODUCT §3.5).


async def test_a_magic_link_with_a_fractional_exp_verifies_once(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    link = _signed(HS256, _claims(person.email, exp=time.time() + 600.25))
    first = await client.get("/verify", params={"token": link})
    assert first.status_code == 200, first.text
    replay = await client.get("/verify", params={"token": link})
    assert replay.status_code == 400, replay.text
    assert replay.json() == INVALID_TOKEN


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": time.time() + 3600.5},
        {"iat": time.time() - 10.75},
        {"nbf": time.time() - 0.5},
        {"exp": 1e20},  # beyond any datetime: kept as used "forever"
    ],
    ids=["fractional exp", "fractional iat", "fractional nbf", "exp beyond year 9999"],
)
async def test_fractional_and_far_numeric_dates_are_accepted(
    client: Client, sign_up: SignUp, changes: dict[str, float]
) -> None:
    person = await sign_up()
    link = _signed(HS256, _claims(person.email, **changes))
    first = await client.get("/verify", params={"token": link})
    assert first.status_code == 200, first.text
    assert (await client.get("/verify", params={"token": link})).json() == INVALID_TOKEN
    access = _signed(HS256, _claims(person.email, "access", **changes))
    current = await client.get("/users/current", headers={"Authorization": f"Bearer {access}"})
    assert current.status_code == 200, current.text
    assert current.json()["email"] == person.email


# §5: a bearer token of the wrong kind is missing credentials: 401 with a string detail (PRODUCT §3.3);
# the same shapes offered to /verify stay 400 `Invalid token` (PRODUCT §3.5). Each maker takes the email
# and the kind the endpoint wants.

OTHER_KIND = {"access": "magic_link", "magic_link": "access"}

WRONG_KIND: dict[str, Callable[[str, str], str]] = {
    "the other kind": lambda email, kind: mint(email, OTHER_KIND[kind]),
    "no token_type": lambda email, kind: _signed(HS256, _claims(email, kind, token_type=None)),
    "unknown token_type": lambda email, kind: mint(email, "refresh"),
    "token_type not a string": lambda email, kind: _signed(HS256, _claims(email, kind, token_type=[kind])),
    "token_type in capitals": lambda email, kind: mint(email, kind.upper()),
    "no sub": lambda email, kind: _signed(HS256, _claims(email, kind, sub=None)),
    "sub not a string": lambda email, kind: _signed(HS256, _claims(email, kind, sub=42)),
    "empty sub": lambda email, kind: mint("", kind),
    "blank sub": lambda email, kind: mint("   ", kind),
    "sub with a NUL byte": lambda email, kind: mint(email + "\x00", kind),
    "sub too long for any email": lambda email, kind: mint("a" * 400 + "@example.com", kind),
}


@pytest.mark.parametrize("make", WRONG_KIND.values(), ids=WRONG_KIND.keys())
async def test_a_bearer_token_of_the_wrong_kind_is_401(
    client: Client, sign_up: SignUp, make: Callable[[str, str], str]
) -> None:
    person = await sign_up()
    token = make(person.email, "access")
    response = await client.get("/users/current", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_CREDENTIALS
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("make", WRONG_KIND.values(), ids=WRONG_KIND.keys())
async def test_a_token_of_the_wrong_kind_is_an_invalid_magic_link(
    client: Client, sign_up: SignUp, make: Callable[[str, str], str]
) -> None:
    person = await sign_up()
    response = await client.get("/verify", params={"token": make(person.email, "magic_link")})
    assert response.status_code == 400, response.text
    assert response.json() == INVALID_TOKEN


# No token, however odd, reaches the 500 mapper: validly signed ones with odd insides, and junk.

ODD_TOKENS: dict[str, Callable[[str, str], str]] = {
    "alg as a list": lambda email, kind: _signed('{"alg":["HS256"]}', _claims(email, kind)),
    "alg as an object": lambda email, kind: _signed('{"alg":{"HS256":1}}', _claims(email, kind)),
    "alg null": lambda email, kind: _signed('{"alg":null}', _claims(email, kind)),
    "no alg": lambda email, kind: _signed('{"typ":"JWT"}', _claims(email, kind)),
    "alg none, signed anyway": lambda email, kind: _signed('{"alg":"none"}', _claims(email, kind)),
    "asymmetric alg": lambda email, kind: _signed('{"alg":"RS256"}', _claims(email, kind)),
    "kid a number": lambda email, kind: _signed('{"alg":"HS256","kid":7}', _claims(email, kind)),
    "kid a list": lambda email, kind: _signed('{"alg":"HS256","kid":["a"]}', _claims(email, kind)),
    "crit unsupported": lambda email, kind: _signed('{"alg":"HS256","crit":["exp"]}', _claims(email, kind)),
    "crit not a list": lambda email, kind: _signed('{"alg":"HS256","crit":"b64"}', _claims(email, kind)),
    "b64 false": lambda email, kind: _signed(
        '{"alg":"HS256","b64":false,"crit":["b64"]}', _claims(email, kind)
    ),
    "header a list": lambda email, kind: _signed("[1,2]", _claims(email, kind)),
    "header a string": lambda email, kind: _signed('"HS256"', _claims(email, kind)),
    "header not JSON": lambda email, kind: _signed("{alg:HS256}", _claims(email, kind)),
    "header not UTF-8": lambda email, kind: _not_utf8(_claims(email, kind)),
    "payload a list": lambda email, kind: _signed(HS256, "[1]"),
    "payload a number": lambda email, kind: _signed(HS256, "12"),
    "payload null": lambda email, kind: _signed(HS256, "null"),
    "payload not JSON": lambda email, kind: _signed(HS256, "{sub:"),
    "payload deeply nested": lambda email, kind: _signed(HS256, '{"a":' * 3000 + "1" + "}" * 3000),
    "exp NaN": lambda email, kind: _signed(
        HS256, _claims(email, kind).replace('"exp": ', '"exp": NaN, "x": ')
    ),
    "exp Infinity": lambda email, kind: _signed(
        HS256, _claims(email, kind).replace('"exp": ', '"exp": Infinity, "x": ')
    ),
    "exp 400 digits": lambda email, kind: _signed(HS256, _claims(email, kind, exp=10**400)),
    "exp a string": lambda email, kind: _signed(HS256, _claims(email, kind, exp=str(int(time.time()) + 600))),
    "exp true": lambda email, kind: _signed(HS256, _claims(email, kind, exp=True)),
    "exp an object": lambda email, kind: _signed(HS256, _claims(email, kind, exp={"at": 1})),
    "exp in the past, fractional": lambda email, kind: _signed(
        HS256, _claims(email, kind, exp=time.time() - 0.5)
    ),
    "iat in the future": lambda email, kind: _signed(HS256, _claims(email, kind, iat=time.time() + 3600)),
    "iat a string": lambda email, kind: _signed(HS256, _claims(email, kind, iat="yesterday")),
    "nbf in the future": lambda email, kind: _signed(HS256, _claims(email, kind, nbf=time.time() + 3600)),
    "nbf a list": lambda email, kind: _signed(HS256, _claims(email, kind, nbf=[1])),
    "jti a number": lambda email, kind: _signed(HS256, _claims(email, kind, jti=5)),
    "sub a list": lambda email, kind: _signed(HS256, _claims(email, kind, sub=[email])),
    "aud present": lambda email, kind: _signed(HS256, _claims(email, kind, aud="someone")),
    "wrong secret": lambda email, kind: _signed(HS256, _claims(email, kind), "another-secret-" * 4),
    "huge": lambda email, kind: _signed(HS256, _claims(email, kind, pad="x" * 5_000)),
    "four segments": lambda email, kind: mint(email, kind) + ".e30",
    "two segments": lambda email, kind: mint(email, kind).rpartition(".")[0],
    "empty segments": lambda email, kind: "..",
    "non-ASCII": lambda email, kind: mint(email, kind)[:-1] + "é",
    "whitespace inside": lambda email, kind: mint(email, kind).replace(".", " . ", 1),
    "padding inside a segment": lambda email, kind: "eyJ=.eyJ.abc",
}


@pytest.mark.parametrize("make", ODD_TOKENS.values(), ids=ODD_TOKENS.keys())
async def test_an_odd_token_is_an_invalid_magic_link(
    client: Client, sign_up: SignUp, make: Callable[[str, str], str]
) -> None:
    person = await sign_up()
    response = await client.get("/verify", params={"token": make(person.email, "magic_link")})
    assert response.status_code == 400, response.text
    assert response.json() == INVALID_TOKEN


@pytest.mark.parametrize("make", ODD_TOKENS.values(), ids=ODD_TOKENS.keys())
async def test_an_odd_token_is_invalid_credentials(
    client: Client, sign_up: SignUp, make: Callable[[str, str], str]
) -> None:
    person = await sign_up()
    token = make(person.email, "access")
    # As raw bytes: a header may carry what no ASCII string can.
    headers = {"Authorization": f"Bearer {token}".encode()}
    response = await client.get("/users/current", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_CREDENTIALS
