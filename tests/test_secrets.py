"""Settings refuse default or short secrets outside development and test (ASVS V13 secrets management)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from livecircle.config import DEV_SECRET, MIN_SECRET_LENGTH, Settings

REAL = "k" * MIN_SECRET_LENGTH


@pytest.mark.parametrize("env", ["production", "staging"])
@pytest.mark.parametrize("secret", [DEV_SECRET, "", "short-secret", "k" * (MIN_SECRET_LENGTH - 1)])
def test_a_placeholder_or_short_secret_is_refused(env: str, secret: str) -> None:
    with pytest.raises(ValidationError, match="LIVECIRCLE_SECRET_KEY"):
        Settings(env=env, secret_key=secret)


@pytest.mark.parametrize("env", ["production", "staging"])
def test_a_real_secret_is_accepted(env: str) -> None:
    assert Settings(env=env, secret_key=REAL).secret_key == REAL


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_test_may_run_on_the_placeholder(env: str) -> None:
    assert Settings(env=env).secret_key == DEV_SECRET


def test_the_environment_variable_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECIRCLE_ENV", "staging")
    monkeypatch.delenv("LIVECIRCLE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="LIVECIRCLE_SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("LIVECIRCLE_SECRET_KEY", REAL)
    assert Settings(_env_file=None).env == "staging"
