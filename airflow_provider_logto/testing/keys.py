"""The emulator's signing key: EC P-384 / ES384 like a fresh Logto, or RSA / RS256 like older installs."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms

KeyAlgorithm = Literal["ES384", "RS256"]


class SigningKey:
    """A private key with its ``kid``; signs access tokens and publishes its public half as a JWK."""

    def __init__(self, algorithm: KeyAlgorithm = "ES384") -> None:
        if algorithm == "ES384":
            self._private_key: Any = ec.generate_private_key(ec.SECP384R1())
            public_jwk = ECAlgorithm.to_jwk(self._private_key.public_key(), as_dict=True)
        elif algorithm == "RS256":
            self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public_jwk = RSAAlgorithm.to_jwk(self._private_key.public_key(), as_dict=True)
        else:
            raise ValueError(f"unsupported key algorithm {algorithm!r}; use 'ES384' or 'RS256'")
        self.algorithm: KeyAlgorithm = algorithm
        self._signer = get_default_algorithms()[algorithm]
        self.kid = _thumbprint_kid(public_jwk)
        self.public_key = self._private_key.public_key()
        # node-oidc-provider's JWKS member order (helpers/initialize_keystore.js): kty, use, kid, alg, then the
        # key's own members; no key_ops
        self.jwk: dict[str, Any] = {"kty": public_jwk["kty"], "use": "sig", "kid": self.kid, "alg": algorithm}
        self.jwk.update({name: public_jwk[name] for name in ("crv", "e", "n", "x", "y") if name in public_jwk})

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact JWS with Logto's header, keys in its order (``alg``, ``typ``, ``kid``), claims in theirs."""
        header = {"alg": self.algorithm, "typ": "at+jwt", "kid": self.kid}
        signing_input = f"{_b64_json(header)}.{_b64_json(claims)}".encode()
        signature = self._signer.sign(signing_input, self._private_key)
        return f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _thumbprint_kid(jwk: dict[str, Any]) -> str:
    """The ``kid`` node-oidc-provider (and Logto's ``exportJWK``) derive: base64url(sha256(JSON of the key's
    required members, in the order ``crv, kty, x, y`` for EC and ``e, kty, n`` for RSA))."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    digest = hashlib.sha256(json.dumps({name: jwk[name] for name in members}, separators=(",", ":")).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def _b64_json(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()
