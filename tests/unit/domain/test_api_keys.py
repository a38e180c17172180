"""API keys without a server: their format, the stored hash, scopes, and when the API requires them."""

from __future__ import annotations

import pytest

from app.domain.api_keys import ANYONE, Caller, Scope, SecretCheck, generate_key, parse_key, secret_matches
from app.settings import Settings

LOOPBACK = Settings.model_fields["allowed_hosts"].default


def test_a_new_key_parses_back_and_its_hash_holds_no_part_of_its_secret() -> None:
    key = generate_key()
    parsed = parse_key(key.token)
    assert parsed is not None
    prefix, secret = parsed
    assert key.token.startswith(f"cvr_{prefix}_") and prefix == key.prefix
    assert secret not in key.secret_hash and key.secret_hash.startswith("scrypt$")
    assert secret_matches(secret, key.secret_hash)
    assert not secret_matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), key.secret_hash)


def test_two_keys_never_share_a_prefix_secret_or_salt() -> None:
    first, second = generate_key(), generate_key()
    assert first.prefix != second.prefix and first.token != second.token
    assert first.secret_hash.split("$")[1] != second.secret_hash.split("$")[1]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "cvr",
        "cvr_0123456789ab",
        "abc_0123456789ab_" + "s" * 43,
        "cvr_XYZ456789abc_" + "s" * 43,
        "cvr_0123_s",
    ],
)
def test_malformed_keys_do_not_parse(token: str) -> None:
    assert parse_key(token) is None


def test_a_hash_of_another_scheme_matches_nothing() -> None:
    assert not secret_matches("secret", "sha256$abc$def")
    assert not secret_matches("secret", "garbage")


def test_the_secret_check_remembers_right_secrets_only() -> None:
    key = generate_key()
    _, secret = parse_key(key.token) or ("", "")
    check = SecretCheck(size=1)
    assert not check("wrong-secret-wrong-secret", key.secret_hash)
    assert check(secret, key.secret_hash) and check(secret, key.secret_hash)
    assert not check("wrong-secret-wrong-secret", key.secret_hash)


def test_each_scope_includes_the_ones_before_it() -> None:
    assert Scope.ADMIN.includes(Scope.SUBMIT) and Scope.ADMIN.includes(Scope.READ)
    assert Scope.SUBMIT.includes(Scope.READ) and not Scope.SUBMIT.includes(Scope.ADMIN)
    assert not Scope.READ.includes(Scope.SUBMIT)


def test_submit_keys_change_their_own_searches_admins_and_anyone_every_search() -> None:
    ci = Caller("ci", Scope.SUBMIT)
    assert ci.may_change("ci") and not ci.may_change("notebook") and not ci.may_change(None)
    assert not Caller("ci", Scope.READ).may_change("ci")
    assert Caller("root", Scope.ADMIN).may_change("ci") and ANYONE.may_change(None)


@pytest.mark.parametrize(
    ("auth", "bind_host", "allowed_hosts", "required"),
    [
        ("auto", "127.0.0.1", None, False),
        ("auto", "::1", None, False),
        ("auto", "localhost", None, False),
        ("auto", None, None, False),
        ("auto", "0.0.0.0", None, True),
        ("auto", "::", None, True),
        ("auto", "192.168.1.10", None, True),
        ("auto", "127.0.0.1", ["caviar.example.org"], True),  # a proxy forwards a public name
        ("auto", "127.0.0.1", ["*"], True),
        ("auto", "127.0.0.1", ["localhost", "[::1]"], False),
        ("required", "127.0.0.1", None, True),
        ("off", "0.0.0.0", ["*"], False),
    ],
)
def test_auto_requires_keys_unless_bound_to_loopback_and_serving_loopback_names(
    auth: str, bind_host: str | None, allowed_hosts: list[str] | None, required: bool
) -> None:
    settings = Settings().model_copy(update={"auth": auth, "allowed_hosts": allowed_hosts or LOOPBACK})
    assert settings.keys_required(bind_host) is required
