"""Dutch phone numbers as residents type them: 06-12345678, 040 123 45 67, +31 (0)6 1234 5678."""

from __future__ import annotations

import re

PHONE_TYPED_MAX = 40  # longer than any way of writing a Dutch number
_SEPARATORS = re.compile(r"[\s\-./()]+")
# Ten digits from the leading 0: a mobile (06), a geographic number (01-05, 07) or a
# nationwide one a household may have (084, 085, 087, 088). Service numbers (0800, 0900) are
# not a resident's.
_NATIONAL = re.compile(r"0(?:6\d{8}|[1-57]\d{8}|8[4578]\d{7})")
# Area codes of two digits after the 0; every other one has three. For grouping a number so it
# reads aloud easily: 040 123 4567, 0499 123 456.
_SHORT_AREA = re.compile(r"0(?:1[035]|2[0346]|3[03568]|4[0356]|5[0358]|7\d|8[4578])")


def read_phone(typed: str) -> str | None:
    """The number in its national form (`0612345678`), or None when what was typed is not a
    Dutch number a resident can be called on."""
    text = typed.strip()
    if len(text) > PHONE_TYPED_MAX:
        return None
    digits = _SEPARATORS.sub("", text.replace("(0)", ""))
    if digits.startswith("+31"):
        digits = "0" + digits[3:]
    elif digits.startswith("0031"):
        digits = "0" + digits[4:]
    return digits if _NATIONAL.fullmatch(digits) else None


def show_phone(national: str) -> str:
    """A number kept in national form, grouped as it is read aloud: 06 1234 5678, 040 123 4567."""
    if national.startswith("06"):
        return f"06 {national[2:6]} {national[6:]}"
    area = national[:3] if _SHORT_AREA.fullmatch(national[:3]) else national[:4]
    rest = national[len(area) :]
    return f"{area} {rest[:3]} {rest[3:]}"
