"""Ranges for the numbers people type: job ids, durations, result caps, sizes.

Each check raises ValueError with a message for people, so an out-of-range number becomes
one line, never a database error or a wait that never ends (a NaN deadline is never
reached).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

DATABASE_ID_MAX = 2**63 - 1  # ids are PostgreSQL bigint
SEARCH_RESULTS_MAX = 1_000_000
# Folder sizes are stored as numeric(12, 3): three decimals, well below 10^9 GB.
GIGABYTES_MIN = Decimal("0.001")
GIGABYTES_MAX = Decimal(1_000_000)
WAIT_SECONDS_MAX = 366 * 24 * 3600.0
SHUTDOWN_SECONDS_MAX = 24 * 3600.0


def seconds(value: float | str, what: str, *, maximum: float) -> float:
    """A duration: a finite number of seconds from 0 to `maximum`."""
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{what} must be a number of seconds, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a finite number of seconds, 0 or more, not {value}")
    if number > maximum:
        raise ValueError(f"{what} must be at most {maximum:g} seconds, not {value}")
    return number


def search_results(value: int) -> int:
    if not 1 <= value <= SEARCH_RESULTS_MAX:
        raise ValueError(f"max search results must be between 1 and {SEARCH_RESULTS_MAX:,}")
    return value


def gigabytes(value: str | float | Decimal, what: str) -> Decimal:
    """A size in GB with at most three decimals, from 0.001 to 1,000,000."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} must be a number of gigabytes, not {value!r}") from None
    if not number.is_finite() or not GIGABYTES_MIN <= number <= GIGABYTES_MAX:
        raise ValueError(
            f"{what} must be between {GIGABYTES_MIN} and {GIGABYTES_MAX:,} gigabytes, not {value}"
        )
    if number != number.quantize(GIGABYTES_MIN):
        raise ValueError(f"{what} may have at most three decimals, not {value}")
    return number
