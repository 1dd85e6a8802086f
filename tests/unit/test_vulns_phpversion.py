"""PHP's version_compare as WordPress orders versions (omctl/vulns/phpversion.py).

The expected values are what PHP 8 prints for ``version_compare($a, $b)``; several differ
from PEP 440 and from Debian's ordering, which is why omctl has its own comparator."""

from __future__ import annotations

import pytest

from omctl.vulns.phpversion import canonical, compare


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0", "1.0", 0),
        ("1.0", "1.0.0", -1),  # PEP 440 says equal: PHP says the longer is greater
        ("1.0.0", "1.0.0.0", -1),
        ("5.9.10", "5.10", -1),  # numeric parts, not strings
        ("6.4.2", "6.4.10", -1),
        ("1.10", "1.9", 1),
        ("1.0-beta", "1.0", -1),
        ("1.0", "1.0.beta", 1),
        ("1.0beta", "1.0-beta", 0),  # a dot goes between digit and letter
        ("1.0-alpha", "1.0-beta", -1),
        ("1.0a", "1.0b", -1),  # a is alpha, b is beta
        ("1.0-dev", "1.0-alpha", -1),
        ("1.0rc1", "1.0", -1),
        ("1.0RC1", "1.0rc1", 0),  # RC and rc are the same form
        ("1.0-beta2", "1.0-rc1", -1),
        ("1.0rc1", "1.0rc2", -1),
        ("1.0pl1", "1.0", 1),  # pl (patch level) is after the release
        ("1.0p1", "1.0pl1", 0),
        ("2.0.1-patch", "2.0.1", 1),  # "patch" starts with p: a patch level
        ("1.0-foo", "1.0-dev", -1),  # an unknown word is below dev
        ("1.0+1", "1.0.1", 0),  # + and _ are separators like -
        ("1.0_1", "1.0.1", 0),
        ("1..0", "1.0", 0),  # no two dots in a row
        ("", "1.0", -1),
        ("", "", 0),
        ("10", "9", 1),
    ],
)
def test_version_compare(left: str, right: str, expected: int) -> None:
    assert compare(left, right) == expected
    assert compare(right, left) == -expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0beta2", "1.0.beta.2"), ("1.0-RC_1", "1.0.RC.1"), ("1.0+b1", "1.0.b.1"),
     ("5.9", "5.9"), ("1..2", "1.2"), ("1#2", "1.#.2")],
)  # fmt: skip
def test_canonical_form(version: str, expected: str) -> None:
    assert canonical(version) == expected


def test_ordering_is_consistent_over_a_sample() -> None:
    # pl is above any number in its place: 1.0pl1 (1.0.pl.1) sorts after 1.0.1.
    ordered = ["1.0-dev", "1.0a1", "1.0b1", "1.0rc1", "1.0", "1.0.0", "1.0.1", "1.0pl1",
               "1.1", "1.9", "1.10", "2.0"]  # fmt: skip
    for i, left in enumerate(ordered):
        for j, right in enumerate(ordered):
            assert compare(left, right) == (i > j) - (i < j), (left, right)
