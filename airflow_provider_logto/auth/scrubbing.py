"""Removing credentials from text — the one place for these patterns (error messages, XCom values and audit-log
entries all pass through it).

What goes: ``Bearer``/``Basic`` credentials (also as ``Authorization: ...``, URL- or JSON-escaped), JWTs, Logto's
internal form of an app secret (``#internal:…``, which authenticates as the app), the values of credential
parameters in a form or query string (``client_secret=…``, ``password=…``, ``code=…``, ``refresh_token=…``) or in
JSON text that is not valid JSON as a whole (``"client_secret": "…"``, also JSON-escaped), and
every value registered with Airflow's secret masker (app secrets, access tokens, connection passwords).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from airflow_provider_logto.auth.masking import airflow_masker

# the parameters whose value is a credential wherever a form or a query string shows them
_FORM_PARAMETERS = ("client_secret", "client_assertion", "password", "code_verifier", "code", "refresh_token",
                    "access_token", "id_token", "subject_token", "actor_token", "assertion", "token")
_IN_TEXT = re.compile(
    r"(?i)\b(?P<scheme>bearer|basic)(?P<gap>\s+|%20|\+)[A-Za-z0-9._~+/=%-]{20,}"  # Bearer/Basic credentials
    r"|\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"  # JWTs
    r"|#internal:[^\s\"'&,;\\]+"  # Logto's internal app secret
    rf"|(?<![A-Za-z0-9_])(?P<parameter>{'|'.join(_FORM_PARAMETERS)})=[^&\s\"'\\]+"  # form/query parameters
    # the same parameters as JSON text that did not parse (also JSON-escaped); not "code": error bodies use it
    rf"|(?P<field>\\?\"(?:{'|'.join(p for p in _FORM_PARAMETERS if p != 'code')})\\?\"\s*:\s*\\?\")[^\"\\]+"
)

Masker = Callable[[str], tuple[str, int]]


def registered_secrets(marker: str) -> Masker:
    """A function replacing every value registered with Airflow's secret masker by ``marker`` (and counting):
    the masker's own pattern when it exposes one (one regex for all secrets), else Airflow's ``redact``."""
    masker = airflow_masker()
    if masker is not None and hasattr(masker, "replacer"):
        replacer: re.Pattern[str] | None = masker.replacer
        if replacer is None:
            return lambda text: (text, 0)
        return lambda text: replacer.subn(marker, text)

    def through_redact(text: str) -> tuple[str, int]:
        from airflow.providers.common.compat.sdk import redact

        redacted = str(redact(text))
        return redacted, int(redacted != text)

    return through_redact


def scrub_text(text: str, marker: str = "***", masker: Masker | None = None) -> tuple[str, int]:
    """``text`` with every credential replaced by ``marker`` (``Bearer <marker>``, ``client_secret=<marker>``),
    and how many were replaced. Pass ``masker`` (from :func:`registered_secrets`) to reuse one for many texts."""

    def replace(match: re.Match[str]) -> str:
        if match.group("scheme"):
            return f"{match.group('scheme')}{match.group('gap')}{marker}"
        if match.group("parameter"):
            return f"{match.group('parameter')}={marker}"
        if match.group("field"):
            return f"{match.group('field')}{marker}"
        return marker

    text, count = _IN_TEXT.subn(replace, text)
    try:
        text, masked = (masker or registered_secrets(marker))(text)
    except Exception:  # a masker problem must never hide the text itself (the patterns above still applied)
        masked = 0
    return text, count + masked
