from __future__ import annotations

import pytest

from podium.domain.rules import (
    JOIN_CODE_ALPHABET,
    feature_flags,
    is_valid_email,
    max_votes_per_user,
    new_join_code,
    normalize_email,
    normalize_join_code,
    slug_for,
)


@pytest.mark.parametrize(("projects", "quota"), [(0, 1), (1, 1), (3, 1), (4, 2), (19, 2), (20, 3), (300, 3)])
def test_vote_quota_grows_with_the_number_of_projects(projects: int, quota: int) -> None:
    assert max_votes_per_user(projects) == quota


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Über", "cafe-uber"),
        ("日本語", "ri-ben-yu"),
        ("ß", "ss"),
        ("Bob's Hack", "bob-s-hack"),
        ("100% Fun!", "100-fun"),
        ("a_b_c", "a-b-c"),
        ("  --Hello--  ", "hello"),
        ("!!!", ""),
        ("word " * 20, "word-word-word-word-word-word-word-word-word-word"),
        ("x" * 80, "x" * 50),
        ("abcdefghij-" * 4 + "klmnopqrstuvwxyz", "abcdefghij-abcdefghij-abcdefghij-abcdefghij"),
    ],
)
def test_slugs_are_ascii_dashed_and_cut_at_a_dash_within_50(name: str, slug: str) -> None:
    assert slug_for(name) == slug
    assert len(slug_for(name)) <= 50


def test_join_codes_use_six_unambiguous_characters() -> None:
    codes = {new_join_code() for _ in range(500)}
    assert len(codes) > 490
    for code in codes:
        assert len(code) == 6
        assert set(code) <= set(JOIN_CODE_ALPHABET)
    assert not set("0O1IL") & set(JOIN_CODE_ALPHABET)


@pytest.mark.parametrize(("raw", "normal"), [(" abc123 ", "ABC123"), ("xYz", "XYZ"), ("8YSO", "8YSO")])
def test_join_codes_are_trimmed_and_case_insensitive(raw: str, normal: str) -> None:
    assert normalize_join_code(raw) == normal


@pytest.mark.parametrize(("raw", "normal"), [("  Ada@Example.COM ", "ada@example.com"), ("a@b.c", "a@b.c")])
def test_emails_are_trimmed_and_lower_cased(raw: str, normal: str) -> None:
    assert normalize_email(raw) == normal


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("ada@example.com", True),
        ("x@test.local", True),
        ("owner+1@test.local", True),
        ("no-at-sign", False),
        ("two@@example.com", False),
        ("spa ce@example.com", False),
        ("", False),
        ("a@" + "b" * 260 + ".com", False),
    ],
)
def test_any_syntactically_valid_email_is_accepted(email: str, valid: bool) -> None:
    assert is_valid_email(email) is valid


@pytest.mark.parametrize(("csv", "flags"), [("", []), ("daydream", ["daydream"]), (" a, ,b ,", ["a", "b"])])
def test_feature_flags_are_split_trimmed_and_non_empty(csv: str, flags: list[str]) -> None:
    assert feature_flags(csv) == flags
