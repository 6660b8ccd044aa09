"""Redaction of Logto audit-log entries: every credential value replaced by :data:`REDACTED` before an entry
leaves the provider (file, XCom, log line, exception, trigger event).

Logto's audit log holds working credentials (``logto-facts`` §4): a ``client_secret_post`` token request's
``payload.params.client_secret`` is the app's internal ``#internal:…`` secret, which authenticates as the app;
grant parameters carry authorization codes, code verifiers, refresh and subject tokens, client assertions;
interaction entries carry verification records (backup codes, TOTP secrets, password hashes, encrypted social
token sets) and user rows (``passwordEncrypted``, ``mfaVerifications``). Two rules remove them:

- **by name**: a field whose name says secret, password, token (not ``tokenTypes``/``token_type``), assertion,
  code verifier, authorization code, credential, authorization, cookie, private/API key… has its value replaced
  (strings and numbers; ``true``/``false``/``null`` say nothing and stay; objects and arrays are walked, so
  ``applicationSecret: {name}`` keeps the secret's *name*). A field named ``code`` keeps error codes
  (``oidc.invalid_grant``, ``ERR_JWT_EXPIRED``) and loses anything else; ``key`` and ``codes`` are credentials
  inside ``mfaVerifications`` (TOTP keys, backup codes) and the log key elsewhere.
- **inside any text** (:mod:`airflow_provider_logto.auth.scrubbing`, shared with the provider's errors):
  ``Bearer``/``Basic`` credentials, JWTs, internal secrets, ``client_secret=…``-style parameters and every value
  Airflow's secret masker knows. A string holding JSON (the ``error`` of a failed token request: a serialised
  error with its stack) is parsed, redacted the same way and written back, still a string.

Everything else keeps its value and place: ids, ``createdAt``, ``key``, ``ip``, ``applicationId``, ``userId``,
``scope``, ``result``, error codes and messages. The entry keeps its shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from airflow_provider_logto.auth.scrubbing import Masker, registered_secrets, scrub_text

REDACTED = "[REDACTED]"

# name fragments (lower case, letters and digits only) that make a field's value a credential
_SECRET_FRAGMENTS = ("secret", "password", "passwd", "passphrase", "passcode", "credential", "assertion",
                     "verifier", "authorization", "cookie", "privatekey", "apikey", "accesskey", "signingkey",
                     "encryptionkey", "tokenset", "samlresponse", "otp")
_SECRET_SUFFIXES = ("token", "tokens", "code", "codes")
_SECRET_NAMES = frozenset(("pin", "ssosessionid", "jwt", "hash"))
# names that describe a credential without holding one (its type, method, lifetime, id, name)
_DESCRIPTIVE_SUFFIXES = ("type", "types", "typehint", "hint", "method", "methods", "name", "id", "ids",
                         "expiresat", "expiresin", "edat", "ttl", "count", "length", "enabled", "policy", "required",
                         "verified", "status", "url", "uri", "endpoint", "details")
# "…code" names that are not codes anyone could use
_HARMLESS_CODE_PREFIXES = ("error", "status", "country", "calling", "region", "lang", "response", "http",
                           "currency", "postal", "zip", "area", "exit", "reason", "template", "qr", "locale")
# what a field named "code" holds when it is an error code, not a credential
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+|[a-z]+(?:_[a-z]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_MFA_SECRET_NAMES = frozenset(("key", "codes"))
_MFA_CONTAINER = "mfaVerifications"


@lru_cache(maxsize=4096)
def _normalised(name: str) -> str:
    return "".join(character for character in name.lower() if character.isalnum())


@lru_cache(maxsize=4096)
def is_credential_name(name: str) -> bool:
    """Whether a field called ``name`` holds a credential (see the module's rules)."""
    normal = _normalised(name)
    if normal in _SECRET_NAMES:
        return True
    if normal.endswith(_DESCRIPTIVE_SUFFIXES):
        return False
    if any(fragment in normal for fragment in _SECRET_FRAGMENTS):
        return True
    if normal.endswith(_SECRET_SUFFIXES):
        return not (normal.endswith(("code", "codes")) and normal.startswith(_HARMLESS_CODE_PREFIXES))
    return False


def _is_credential(name: str, value: Any, in_mfa: bool) -> bool:
    if isinstance(value, bool) or value is None or value in ("", REDACTED):
        return False
    if in_mfa and name in _MFA_SECRET_NAMES:
        return True
    if not is_credential_name(name):
        return False
    if _normalised(name) == "code":
        return isinstance(value, str) and _ERROR_CODE.fullmatch(value) is None
    return True


class _Redactor:
    """One pass over one entry: counts what it replaced."""

    __slots__ = ("count", "masker")

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.count = 0

    def value(self, value: Any, in_mfa: bool, credential: bool) -> Any:
        """``value`` redacted; ``credential``: it sits under a credential name (its scalars go entirely)."""
        if isinstance(value, dict):  # JSON: dicts, lists and scalars (Mapping checks cost 3x more)
            field = self.field
            return {key: field(key, item, in_mfa) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, in_mfa, credential) for item in value]
        if credential and not isinstance(value, bool) and value is not None and value not in ("", REDACTED):
            self.count += 1
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        return value

    def field(self, name: Any, value: Any, in_mfa: bool) -> Any:
        if not isinstance(name, str):
            return self.value(value, in_mfa, False)
        if isinstance(value, (dict, list)):
            inside_mfa = in_mfa or name == _MFA_CONTAINER
            scalar_secrets = isinstance(value, list) and _is_credential(name, "x", inside_mfa)
            return self.value(value, inside_mfa, scalar_secrets)
        if _is_credential(name, value, in_mfa):
            self.count += 1
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        return value

    def text(self, text: str) -> str:
        """A string scrubbed of credentials; JSON inside it (an object or array) is redacted as a structure."""
        if len(text) > 1 and text[0] in "{[" and text[-1] in "}]":
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if isinstance(decoded, (dict, list)):
                before = self.count
                redacted = self.value(decoded, False, False)
                if self.count == before:
                    return text
                return json.dumps(redacted, separators=(",", ":"), ensure_ascii=False)
        scrubbed, replaced = scrub_text(text, REDACTED, self.masker)
        self.count += replaced
        return scrubbed


def redact_entry(entry: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A deep copy of one audit-log entry with every credential value replaced by :data:`REDACTED`, same shape
    (keys in their places), and how many values were replaced."""
    redactor = _Redactor(registered_secrets(REDACTED))
    copy = redactor.value(dict(entry), False, False)
    return copy, redactor.count
