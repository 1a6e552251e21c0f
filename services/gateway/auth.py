"""Sessions and passwords, in plain Python (no nameko, no HTTP).

- ``TokenSigner``: a session token is ``base64url(JSON claims) "." base64url(HMAC-SHA256)``;
  claims are ``account_id, person_id, org_id, roles, iat, exp`` and a random ``jti`` (the
  id a logout or a revocation puts on the revoked list); an integrator's API token adds
  ``api_token_id`` and ``scope: "read"``.
- ``hash_password`` / ``verify_password``: argon2id (argon2-cffi), m=19 MiB, t=2, p=1;
  ``needs_rehash`` tells a stored hash made with other parameters.
- ``Lockout``: after ``LOCK_AFTER`` consecutive failures an account is locked for a delay
  that doubles with every further failure (capped).
"""
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.errors import DomainError, Unauthorized

DEFAULT_TTL_SECONDS = 8 * 3600
MIN_PASSWORD_LENGTH = 10


class TooManyAttempts(DomainError):
    """The account is locked after repeated failed log-ins (HTTP 429 with Retry-After)."""
    status = 429
    code = "too_many_attempts"

    def __init__(self, message, field=None, rule=None, retry_after=1):
        super().__init__(message, field, rule)
        self.retry_after = max(1, int(math.ceil(retry_after)))


# ---------------------------------------------------------------- tokens

def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text):
    if not isinstance(text, str) or not text:
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_secret():
    return secrets.token_urlsafe(48)


def new_jti():
    return secrets.token_urlsafe(16)


def _auth_error(message):
    return Unauthorized(message, field="Authorization", rule="AUTH")


class TokenSigner:
    def __init__(self, secret, ttl_seconds=DEFAULT_TTL_SECONDS, clock=time.time):
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not secret:
            raise ValueError("a session secret is required")
        self._key = secret
        self.ttl = int(ttl_seconds)
        self._clock = clock

    def _sign(self, payload):
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()

    def issue(self, account_id, person_id, org_id, roles, ttl=None, jti=None, **extra):
        """Return ``(token, expires_at)`` (an aware UTC datetime)."""
        now = self._clock()
        iat = math.ceil(now * 1000) / 1000 if isinstance(now, float) else now   # ms: a password change cuts there
        exp = int(now) + int(ttl or self.ttl)
        claims = dict(extra, account_id=account_id, person_id=person_id, org_id=org_id,
                      roles=sorted(set(roles)), iat=iat, exp=exp, jti=jti or new_jti())
        payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        token = f"{payload}.{_b64(self._sign(payload))}"
        return token, dt.datetime.fromtimestamp(exp, dt.timezone.utc)

    def verify(self, token):
        """Return the claims of a valid, unexpired token; raise Unauthorized (rule AUTH) otherwise."""
        if not isinstance(token, str) or token.count(".") != 1:
            raise _auth_error("the session token is malformed")
        payload, signature = token.split(".")
        try:
            given = _unb64(signature)
        except (ValueError, binascii.Error):
            raise _auth_error("the session token is malformed") from None
        try:
            expected = self._sign(payload)
        except UnicodeEncodeError:
            raise _auth_error("the session token is malformed") from None
        if not hmac.compare_digest(given, expected):
            raise _auth_error("the session token is not valid")
        try:
            claims = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            raise _auth_error("the session token is malformed") from None
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            raise _auth_error("the session token is malformed")
        if claims["exp"] <= self._clock():
            raise _auth_error("the session has expired: log in again")
        return claims


def bearer_token(header):
    """The token of an ``Authorization: Bearer <token>`` header; Unauthorized when absent."""
    if not header:
        raise _auth_error("log in first: the Authorization header (Bearer token) is missing")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _auth_error("the Authorization header must be 'Bearer <token>'")
    return token.strip()


# ---------------------------------------------------------------- passwords

# argon2id with the OWASP Password Storage Cheat Sheet's first configuration: 19 MiB, two passes,
# one lane.  argon2-cffi's default (64 MiB, three passes, four lanes) costs about five times the
# work and 64 MiB per hash in flight (docs/performance.md).  Stored hashes made with other
# parameters are re-hashed with these at the next successful log-in (``needs_rehash``).
PASSWORD_TIME_COST = 2
PASSWORD_MEMORY_KIB = 19 * 1024
PASSWORD_PARALLELISM = 1
_hasher = PasswordHasher(time_cost=PASSWORD_TIME_COST, memory_cost=PASSWORD_MEMORY_KIB,
                         parallelism=PASSWORD_PARALLELISM)
_dummy_hash = None


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """True when ``password`` matches; never raises for a wrong password or a bad hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_verify(password):
    """Spend the time of one verification (unknown user): do not reveal who exists."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    verify_password(_dummy_hash, password)
    return False


def needs_rehash(password_hash):
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


# ---------------------------------------------------------------- lockout

class Lockout:
    """Consecutive failures lock an account: 5 → 30 s, 6 → 60 s, 7 → 120 s … up to 1 h."""
    LOCK_AFTER = 5
    BASE_SECONDS = 30
    MAX_SECONDS = 3600

    @classmethod
    def delay(cls, failed_attempts):
        if failed_attempts < cls.LOCK_AFTER:
            return 0
        return min(cls.MAX_SECONDS, cls.BASE_SECONDS * 2 ** (failed_attempts - cls.LOCK_AFTER))

    @classmethod
    def after_failure(cls, failed_attempts, now):
        """Return ``(failed_attempts, locked_until or None)`` after one more failure."""
        failed = (failed_attempts or 0) + 1
        delay = cls.delay(failed)
        return failed, (now + dt.timedelta(seconds=delay) if delay else None)

    @staticmethod
    def check(locked_until, now):
        """Raise TooManyAttempts while the account is locked."""
        if locked_until is not None and locked_until > now:
            wait = (locked_until - now).total_seconds()
            raise TooManyAttempts(f"too many failed log-ins: try again in {int(math.ceil(wait))} s",
                                  field="username", rule="AUTH", retry_after=wait)
