"""Collections carry titles a school or analyst can read."""

from __future__ import annotations

import pytest

from pupildata.collect.collections import title_of


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("census-2009-spr", "Spring census 2009"),
        ("ks1-2008-09", "Key stage 1 results 2008/09"),
        ("ks4-2007-08", "Key stage 4 results 2007/08"),
        ("ncmp-2008-09", "Child height and weight 2008/09"),
        ("survey-2008-09-wave-3", "Survey responses 2008/09 wave 3"),
        ("something-else", "something-else"),
    ],
)
def test_titles(name: str, title: str) -> None:
    assert title_of(name) == title
