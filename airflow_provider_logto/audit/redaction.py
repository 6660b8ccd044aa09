"""Remove every credential value from an audit-log entry before it leaves the provider (file, XCom, log, error).

Logto's entries hold working credentials (logto-facts §4): for a ``client_secret_post`` token request,
``payload.params.client_secret`` is Logto's internal form of the app secret, and it authenticates as the app.
:func:`redact_entry` returns a copy of the entry with the same shape (same keys, same nesting) in which

- the value of every field whose *name* says it holds a credential — secret, password, passphrase, assertion,
  code verifier, API or private key, authorization, cookie, credential, an authorization ``code``, any ``…token``
  (``access_token``, ``refreshToken``, ``id_token``; not ``tokenTypes``) — is replaced by :data:`REDACTED`
  (every value inside it, when it is an object or a list);
- inside every other string, ``Bearer``/``Basic`` credentials, JWTs, Logto's ``#internal:…`` secrets and every
  secret Airflow masks (app secrets, access tokens the hook registered) are replaced by ``***``
  (:func:`airflow_provider_logto.exceptions.scrub`, the provider's one scrubber); a string that is JSON (Logto
  stores ``payload.error`` as a JSON string) is redacted as the structure it holds and written back as JSON;

and counts the values it replaced.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_logto.exceptions import scrub

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 5
_SENSITIVE_NAME = re.compile(r"secret|password|passwd|passphrase|assertion|verifier|apikey|privatekey|"
                             r"authorization|cookie|credential|token$|^code$|^otp$")
_INTERNAL_SECRET = re.compile(r"#internal:[^\s\"',;&]+")


def redact_entry(entry: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A deep copy of one audit-log entry with every credential value replaced, and how many were replaced."""
    counter = _Counter()
    redacted = counter.value(dict(entry), sensitive=False)
    return redacted, counter.count


@functools.lru_cache(maxsize=4096)
def is_sensitive_name(name: str) -> bool:
    """True for a field name that says its value is a credential (case and separators do not matter)."""
    return bool(_SENSITIVE_NAME.search(re.sub(r"[^a-z0-9]", "", name.lower())))


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def value(self, value: Any, *, sensitive: bool) -> Any:
        if isinstance(value, Mapping):
            return {key: self.value(item, sensitive=sensitive or (isinstance(key, str) and is_sensitive_name(key)))
                    for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item, sensitive=sensitive) for item in value]
        if sensitive:
            if value is None or isinstance(value, bool) or value == "":
                return value
            self.count += 1
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        return value

    def text(self, text: str) -> str:
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                decoded = json.loads(text)
            except ValueError:
                pass
            else:
                before = self.count
                cleaned = self.value(decoded, sensitive=False)
                return json.dumps(cleaned, ensure_ascii=False) if self.count > before else text
        if len(text) < MIN_SECRET_LENGTH:
            return text  # too short to hold a credential (Airflow masks nothing shorter either)
        cleaned = scrub(_INTERNAL_SECRET.sub("***", text))
        if cleaned != text:
            self.count += 1
        return cleaned
