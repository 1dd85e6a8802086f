"""PHP's ``version_compare()``, which is how WordPress orders core, plugin and theme versions.

PEP 440 and Debian orderings disagree with PHP on the cases feeds hit: PHP puts ``1.0`` before
``1.0.0``, ``1.0-beta`` and ``1.0rc1`` before ``1.0``, ``1.0pl1`` after it, and a word it does
not know (``1.0-foo``) before ``dev``. This follows php-src ``ext/standard/versioning.c``:

1. canonicalise: ``-``, ``_``, ``+`` and every other character that is not a letter or digit
   become ``.``; a ``.`` goes between a digit and a non-digit; no two dots in a row (a version
   starting with ``#`` is left as it is, which only the internal ``#N#`` does);
2. compare part by part: two numbers as integers; two words by their special form
   (``dev`` < ``alpha``/``a`` < ``beta``/``b`` < ``RC``/``rc`` < ``#`` (a number) < ``pl``/``p``,
   prefix matches, case-sensitive, anything else below ``dev``); a number against a word as
   ``#N#`` against it;
3. when one runs out: a remaining number makes it the greater, a remaining word is compared
   with ``#N#`` (so ``1.0.beta`` < ``1.0`` < ``1.0.pl``).
"""

from __future__ import annotations

from functools import lru_cache

# Order of php-src's special_forms: the first name the part starts with gives its order.
SPECIAL_FORMS: tuple[tuple[str, int], ...] = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
NUMBER = "#N#"


def _isdigit(char: str) -> bool:
    return "0" <= char <= "9"


def _isalnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


@lru_cache(maxsize=65536)
def canonical(version: str) -> str:
    """php_canonicalize_version: separators to ``.``, a dot between digits and non-digits."""
    if not version:
        return version
    out = [version[0]]
    last = version[0]
    for char in version[1:]:
        if char in "-_+":
            if out[-1] != ".":
                out.append(".")
        elif (
            last != "." and char != "." and _isdigit(last) != _isdigit(char)
        ):  # a digit next to a non-digit (dots excluded on both sides)
            if out[-1] != ".":
                out.append(".")
            out.append(char)
        elif not _isalnum(char):
            if out[-1] != ".":
                out.append(".")
        else:
            out.append(char)
        last = char
    return "".join(out)


def _form(part: str) -> int:
    for name, order in SPECIAL_FORMS:
        if part.startswith(name):
            return order
    return -6


def _forms(left: str, right: str) -> int:
    a, b = _form(left), _form(right)
    return (a > b) - (a < b)


def _leading_int(part: str) -> int:
    """strtol: the digits the part starts with."""
    digits = 0
    while digits < len(part) and _isdigit(part[digits]):
        digits += 1
    return int(part[:digits])


def compare(left: str, right: str) -> int:
    """-1, 0 or 1 as PHP's ``version_compare(left, right)``."""
    if not left or not right:
        return (bool(left) > bool(right)) - (bool(left) < bool(right))
    v1 = left if left[0] == "#" else canonical(left)
    v2 = right if right[0] == "#" else canonical(right)
    # php-src walks both strings with strchr('.'): p is where a part starts, n the dot that
    # ends it (None for the last part); the walk stops when either has no part left.
    p1 = p2 = 0
    n1: int | None = 0
    n2: int | None = 0
    result = 0
    while p1 < len(v1) and p2 < len(v2) and n1 is not None and n2 is not None:
        n1, n2 = _dot(v1, p1), _dot(v2, p2)
        part1, part2 = v1[p1:n1], v2[p2:n2]
        d1, d2 = part1[:1].isdigit(), part2[:1].isdigit()
        if d1 and d2:
            a, b = _leading_int(part1), _leading_int(part2)
            result = (a > b) - (a < b)
        elif not d1 and not d2:
            result = _forms(part1, part2)
        elif d1:
            result = _forms(NUMBER, part2)
        else:
            result = _forms(part1, NUMBER)
        if result:
            return result
        if n1 is not None:
            p1 = n1 + 1
        if n2 is not None:
            p2 = n2 + 1
    if n1 is not None:
        rest = v1[p1:]
        return 1 if rest[:1].isdigit() else compare(rest, NUMBER)
    if n2 is not None:
        rest = v2[p2:]
        return -1 if rest[:1].isdigit() else compare(NUMBER, rest)
    return 0


def _dot(text: str, start: int) -> int | None:
    found = text.find(".", start)
    return None if found < 0 else found
