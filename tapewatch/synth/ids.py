"""Realistic identifiers: LEI-like trader ids and ISIN-like instrument ids, with check digits."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tapewatch.synth.rng import Rand

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"

#: ISIN country prefix of each venue's home market (other venues default to XS).
_VENUE_COUNTRY: Mapping[str, str] = MappingProxyType(
    {
        "XNAS": "US",
        "XNYS": "US",
        "ARCX": "US",
        "BATS": "US",
        "IEXG": "US",
        "XLON": "GB",
        "XPAR": "FR",
        "XETR": "DE",
        "XAMS": "NL",
        "XMIL": "IT",
        "XMAD": "ES",
        "XSWX": "CH",
    }
)


#: Prefixes of some issuing organisations (the first four characters of real LEIs).
_LOU_PREFIXES = ("5493", "2138", "5299", "9695", "7245", "8156", "3912", "2549", "6354", "9845")


def _alnum_to_digits(text: str) -> str:
    return "".join(str(int(c, 36)) for c in text)


def lei(rand: Rand) -> str:
    """A 20-character LEI-shaped id (ISO 17442 layout with valid mod-97 check digits)."""
    lou = _LOU_PREFIXES[rand.randint(0, len(_LOU_PREFIXES) - 1)]
    body = lou + "00" + "".join(_ALNUM[rand.randint(0, 35)] for _ in range(12))
    check = 98 - int(_alnum_to_digits(body + "00")) % 97
    return f"{body}{check:02d}"


def isin(rand: Rand, venue: str) -> str:
    """A 12-character ISIN-shaped id for an instrument listed on ``venue`` (Luhn check digit)."""
    country = _VENUE_COUNTRY.get(venue, "XS")
    body = country + "".join(
        _ALNUM[rand.randint(0, 35)] if rand.u() < 0.3 else _DIGITS[rand.randint(0, 9)]
        for _ in range(9)
    )
    digits = _alnum_to_digits(body)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def is_valid_lei(value: str) -> bool:
    """Whether ``value`` is 20 alphanumerics whose mod-97 check holds."""
    return len(value) == 20 and value.isalnum() and int(_alnum_to_digits(value)) % 97 == 1
