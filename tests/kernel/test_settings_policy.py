"""Settings and policy: defaults, sources in order of strength, and one clear sentence for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from pupildata.errors import UsageError
from pupildata.policy import Policy, load_policy
from pupildata.settings import Home, Settings, load_settings


def test_defaults_derive_from_the_home(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "h", environ={})
    assert settings.home == tmp_path / "h"
    assert settings.warehouse == tmp_path / "h" / "warehouse.duckdb"
    assert settings.registry == f"sqlite:///{(tmp_path / 'h' / 'registry.sqlite').resolve()}"
    assert settings.policy_path is None


def test_default_home_is_pupildata_home() -> None:
    assert load_settings(environ={}).home == Path("pupildata-home")


def test_environment_then_file_then_defaults(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "settings.toml").write_text('warehouse_path = "from-file.duckdb"\nwarehouse_threads = 1\n')
    env = {"PUPILDATA_HOME": str(home), "PUPILDATA_WAREHOUSE_THREADS": "2"}
    settings = load_settings(environ=env)
    assert settings.warehouse == Path("from-file.duckdb")
    assert settings.warehouse_threads == 2  # the environment beats the file
    assert load_settings(tmp_path / "other", environ=env).home == tmp_path / "other"  # --home beats both


def test_explicit_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('registry_url = "postgresql+psycopg://svc@db/pupils"\n')
    settings = load_settings(environ={"PUPILDATA_SETTINGS_FILE": str(path)})
    assert settings.registry == "postgresql+psycopg://svc@db/pupils"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("warehouse_threads = 0", "'warehouse_threads' is invalid: input should be greater than or equal to 1"),
        ("colour = 'blue'", "unknown key 'colour'"),
        ('registry_url = "mysql://x"', "the registry must be SQLite"),
        ("warehouse_threads = [", "is not valid TOML"),
    ],
)
def test_bad_settings_file_names_key_and_rule(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(content)
    with pytest.raises(UsageError, match=expected) as info:
        load_settings(environ={"PUPILDATA_SETTINGS_FILE": str(path)})
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_missing_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"settings file .*nope.toml does not exist"):
        load_settings(environ={"PUPILDATA_SETTINGS_FILE": str(tmp_path / "nope.toml")})


def test_home_is_created_owner_only(tmp_path: Path) -> None:
    path = Home(Settings(home=tmp_path / "new")).ensure()
    assert path.is_dir()
    assert path.stat().st_mode & 0o777 == 0o700


def test_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a directory"):
        Home(Settings(home=tmp_path / "f")).ensure()


def test_policy_defaults() -> None:
    policy = Policy()
    assert policy.disclosure.min_frequency == 10
    assert policy.subject_access.time_limit_days == 40
    assert policy.ages.parent_acts_below == 12
    assert policy.ages.learner_number_from == 14
    assert policy.tier("upn") == 1
    assert policy.tier("la_code") == 2
    assert policy.tier("something_new") == 1  # unknown variables are treated as the most sensitive
    assert {g.id for g in policy.gateways} >= {"prescribed-persons", "aggregate-publication"}


def test_policy_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[disclosure]\nmin_frequency = 5\n[ages]\nparent_acts_below = 13\n")
    policy = load_policy(path)
    assert policy.disclosure.min_frequency == 5
    assert policy.disclosure.rounding_base == 5
    assert policy.ages.parent_acts_below == 13
    assert policy.ages.learner_number_from == 14


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[disclosure]\nmin_frequency = 2", "min_frequency 2 is below the floor min_frequency_floor 3"),
        ("[disclosure]\nmethod = 'magic'", "'disclosure.method' is invalid"),
        ("[ages]\nparent_acts_below = -1", "'ages.parent_acts_below' is invalid: input should be greater than"),
        ("[subject_access]\ndays = 30", "unknown key 'subject_access.days'"),
        (
            "[[gateways]]\nid = 'g'\nname = 'G'\nlegislation = 'L'\nrecipient_types = ['aliens']",
            "unknown recipient type 'aliens'",
        ),
        ("[variable_tiers]\nupn = 7", "'variable_tiers.upn' is invalid"),
    ],
)
def test_bad_policy_names_key_and_rule(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(content)
    with pytest.raises(UsageError, match=expected) as info:
        load_policy(path)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2
