"""Bearer-token verification as Logto and its resource servers do it (``jose.jwtVerify``).

Shared by the emulated Management API (key known in process) and the sample resource server (key fetched from
the JWKS over HTTP, by ``kid``). Failures carry jose's error ``code`` and, for claim checks, the claim — the
``data`` Logto puts in its ``auth.unauthorized`` answers. Claims are checked in jose's order: ``iss``, ``aud``,
then ``exp``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

# The jose error class name for each code, as serialised into Logto's ``data``.
_JOSE_NAMES = {
    "ERR_JWS_INVALID": "JWSInvalid",
    "ERR_JWKS_NO_MATCHING_KEY": "JWKSNoMatchingKey",
    "ERR_JWS_SIGNATURE_VERIFICATION_FAILED": "JWSSignatureVerificationFailed",
    "ERR_JWT_CLAIM_VALIDATION_FAILED": "JWTClaimValidationFailed",
    "ERR_JWT_EXPIRED": "JWTExpired",
}


class TokenRejected(Exception):
    """Why a bearer token was refused, in jose's terms."""

    def __init__(self, code: str, claim: str | None = None, payload: dict[str, Any] | None = None) -> None:
        super().__init__(code if claim is None else f"{code} ({claim})")
        self.code = code
        self.claim = claim
        self.payload = payload

    def data(self) -> dict[str, Any]:
        """jose's error as JSON: ``code``, ``name``, and for claim checks ``claim``, ``reason``, ``payload``."""
        data: dict[str, Any] = {"code": self.code, "name": _JOSE_NAMES[self.code]}
        if self.claim is not None:
            data.update(claim=self.claim, reason="check_failed", payload=self.payload)
        return data


class TokenVerifier:
    """Verifies signature (key by ``kid``), then ``iss``, ``aud`` and ``exp``; remembers good signatures."""

    _CACHE_LIMIT = 10_000

    def __init__(self, key_for_kid: Callable[[str], Any], issuer: Callable[[], str]) -> None:
        self._key_for_kid = key_for_kid
        self._issuer = issuer
        self._verified: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop remembered signatures (after a key rotation they must be checked again)."""
        with self._lock:
            self._verified.clear()

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """The token's claims, or :class:`TokenRejected`."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._check_signature(token)
            with self._lock:
                if len(self._verified) >= self._CACHE_LIMIT:
                    self._verified.clear()
                self._verified[token] = claims
        if claims.get("iss") != self._issuer():
            raise TokenRejected("ERR_JWT_CLAIM_VALIDATION_FAILED", "iss", claims)
        if claims.get("aud") != audience:
            raise TokenRejected("ERR_JWT_CLAIM_VALIDATION_FAILED", "aud", claims)
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise TokenRejected("ERR_JWT_EXPIRED", "exp", claims)
        return claims

    def _check_signature(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRejected("ERR_JWS_INVALID") from None
        key = self._key_for_kid(str(header.get("kid")))
        if key is None:
            raise TokenRejected("ERR_JWKS_NO_MATCHING_KEY")
        try:
            return jwt.decode(token, key, algorithms=["ES384", "RS256"],
                              options={"verify_aud": False, "verify_iss": False, "verify_exp": False,
                                       "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidSignatureError:
            raise TokenRejected("ERR_JWS_SIGNATURE_VERIFICATION_FAILED") from None
        except jwt.PyJWTError:
            raise TokenRejected("ERR_JWS_INVALID") from None
