"""Phone numbers as Logto stores them (``packages/shared/src/utils/phone.ts`` over libphonenumber-js):
``parsePhoneNumberWithError('+' + digits)`` must succeed — a known country calling code and a national
number of 2 to 17 digits — and the stored value is ``{calling code}{national number}``, a national ``0``
prefix dropped. Anything else is 422 ``user.invalid_phone``.

Approximation: libphonenumber-js keeps a national leading ``0`` for the few countries where it belongs to the
number (e.g. Italy); this strips it everywhere.
"""

from __future__ import annotations

from airflow_provider_logto.testing.errors import api_error

_RANGES = ((220, 258), (260, 269), (350, 359), (370, 378), (500, 509), (590, 599), (672, 692), (960, 968),
           (970, 977), (992, 996))
CALLING_CODES = frozenset(
    {1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
     60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211, 212, 213, 216, 218, 290, 291,
     297, 298, 299, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 670, 800, 808, 850, 852, 853, 855, 856,
     870, 878, 880, 881, 882, 883, 886, 888, 979, 998}
    | {code for low, high in _RANGES for code in range(low, high + 1)}
) - {684}


def normalize_phone(phone: str) -> str:
    """The stored form of a phone number, or 422 ``user.invalid_phone``."""
    digits = phone.removeprefix("+")
    if not digits.isdigit():
        raise api_error("user.invalid_phone")
    code = next((digits[:n] for n in (1, 2, 3) if int(digits[:n]) in CALLING_CODES and len(digits) > n), None)
    if code is None:
        raise api_error("user.invalid_phone")
    national = digits[len(code):]
    national = national.removeprefix("0")
    if not 2 <= len(national) <= 17:
        raise api_error("user.invalid_phone")
    return code + national
