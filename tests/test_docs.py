"""The documentation stays true: every setting and policy key is documented; the README gives two commands."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from pupildata.policy import Policy
from pupildata.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"`{name}`" in text, f"setting {name} is not in docs/configuration.md"
        assert f"PUPILDATA_{name.upper()}" in text


def test_every_policy_key_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for key in _keys(Policy):
        assert f"`{key}`" in text, f"policy key {key} is not in docs/configuration.md"


def test_readme_gives_exactly_two_set_up_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```\n(.+?)\n```", setup, flags=re.MULTILINE)
    assert commands == ["make demo", "make test"]


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
