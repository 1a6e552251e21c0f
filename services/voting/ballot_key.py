"""V8: secret choices sealed at rest under the voting service's Paillier key (no nameko, no database).

A secret vote's box row holds one Paillier ciphertext of the choice encoded as a one-hot
number in base ``BASE`` (yes = 1, no = B, abstain = B²), never the choice.  Encryption is
randomised: equal choices give different rows.  Paillier is additively homomorphic, so at
the close the ciphertexts are multiplied together (their plaintexts add up) and only that
sum is decrypted: it reads as the three counts, one base-B digit each (as Helios and
ElectionGuard count: ballots encrypted, only the aggregate decrypted).

The key pair lives in a secret file (``VOTING_BALLOT_KEY_FILE``), never in the voting
database: whoever holds that database, its WAL or its backups sees ciphertexts they cannot
open.  Whoever holds the key file could decrypt single rows (docs/security.md: residual risk).

The key file is JSON: ``{"scheme": "paillier", "n": hex, "p": hex, "q": hex}``.
"""
import hashlib
import json
import os
import tempfile
from pathlib import Path

import gmpy2
from phe import paillier

CHOICES = ("yes", "no", "abstain")
# one base-B digit per choice: B must exceed any count; an electorate is a party group
# (tens of members), 2**32 leaves every margin and B³ = 2**96 is far below n
BASE = 2 ** 32
SCHEME = "paillier"
SEALED_PREFIX = "paillier:"        # a box row: "paillier:<key id>:<ciphertext, hex>"
DEFAULT_BITS = 2048                # VOTING_BALLOT_KEY_BITS: the size made and the least accepted
MIN_BITS = 1024                    # the least VOTING_BALLOT_KEY_BITS may ask for (tests)


class BallotKeyError(ValueError):
    """The ballot key file is missing, unreadable or not a usable key (the service stops)."""


class SealedBoxError(ValueError):
    """A sealed box entry cannot be counted with this key: ``rule`` V8 when it was sealed under
    another key (the service's key file is not the ballot's), V9 when the box is corrupt."""

    def __init__(self, message, rule="V9"):
        super().__init__(message)
        self.rule = rule


def encode(choice):
    """The one-hot number of a choice: yes 1, no B, abstain B²."""
    if choice not in CHOICES:
        raise ValueError(f"V8: {choice!r} is not one of {', '.join(CHOICES)}")
    return BASE ** CHOICES.index(choice)


def decode(total, entries):
    """The counts read from the decrypted sum of ``entries`` one-hot choices (SealedBoxError
    when it is not such a sum: a count out of range, or the counts not adding up to entries)."""
    counts = {}
    rest = total
    for choice in CHOICES:
        rest, counts[choice] = divmod(rest, BASE)
    if rest or sum(counts.values()) != entries:
        raise SealedBoxError(f"V9: the sealed box's sum does not read as {entries} choices")
    return counts


def key_id_of(n):
    """A public fingerprint of the key (16 hex digits): which key sealed a row or a ballot."""
    return hashlib.sha256(format(n, "x").encode("ascii")).hexdigest()[:16]


class BallotKey:
    """The voting service's key pair: ``seal`` a choice, ``count`` sealed entries."""

    def __init__(self, private_key):
        self.private_key = private_key
        self.public_key = private_key.public_key
        self.bits = self.public_key.n.bit_length()
        self.key_id = key_id_of(self.public_key.n)

    def seal(self, choice):
        """A fresh, randomised ciphertext of ``choice`` as box text."""
        c = self.public_key.raw_encrypt(encode(choice))
        return f"{SEALED_PREFIX}{self.key_id}:{c:x}"

    def _ciphertext(self, text):
        prefix, _, rest = str(text).partition(":")
        key_id, _, digits = rest.partition(":")
        if prefix + ":" != SEALED_PREFIX or not digits:
            raise SealedBoxError("V9: a sealed box entry is malformed")
        if key_id != self.key_id:
            raise SealedBoxError(f"V8: a box entry was sealed under ballot key {key_id}, "
                                 f"but this service holds key {self.key_id}", rule="V8")
        try:
            c = int(digits, 16)
        except ValueError:
            raise SealedBoxError("V9: a sealed box entry is malformed") from None
        if not 0 < c < self.public_key.nsquare:
            raise SealedBoxError("V9: a sealed box entry is out of range")
        return c

    def count(self, sealed):
        """V9: the counts of the sealed entries, decrypting only their homomorphic sum."""
        sealed = list(sealed)
        if not sealed:
            return {c: 0 for c in CHOICES}
        nsquare = self.public_key.nsquare
        product = gmpy2.mpz(1)
        for text in sealed:
            product = product * self._ciphertext(text) % nsquare   # Paillier: plaintexts add up
        return decode(self.private_key.raw_decrypt(int(product)), len(sealed))

    def open_one(self, text):
        """Decrypt one entry: what only the key holder can do (tests show the residual risk)."""
        total = self.private_key.raw_decrypt(self._ciphertext(text))
        counts = decode(total, 1)
        return next(c for c, k in counts.items() if k)


# ---------------------------------------------------------------- the key file

def generate(bits=DEFAULT_BITS):
    """A new key pair of ``bits`` bits."""
    _public, private = paillier.generate_paillier_keypair(n_length=bits)
    return private


def key_text(private_key):
    return json.dumps({"scheme": SCHEME, "n": format(private_key.public_key.n, "x"),
                       "p": format(private_key.p, "x"), "q": format(private_key.q, "x")}) + "\n"


def parse(text, min_bits=DEFAULT_BITS, where="the ballot key file"):
    """The private key in ``text`` (BallotKeyError naming what is wrong)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise BallotKeyError(f"V8: {where} is not a ballot key (JSON with scheme, n, p, q)") from None
    if not isinstance(data, dict) or data.get("scheme") != SCHEME:
        raise BallotKeyError(f"V8: {where} is not a ballot key (scheme must be {SCHEME!r})")
    numbers = {}
    for name in ("n", "p", "q"):
        value = data.get(name)
        try:
            numbers[name] = int(value, 16)
        except (TypeError, ValueError):
            raise BallotKeyError(f"V8: {where}: {name!r} must be a hexadecimal number") from None
    n, p, q = numbers["n"], numbers["p"], numbers["q"]
    if p == q or p * q != n or not (gmpy2.is_prime(p, 40) and gmpy2.is_prime(q, 40)):
        raise BallotKeyError(f"V8: {where} is not a valid key pair (n must be the product of two distinct primes p, q)")
    if n.bit_length() < min_bits:
        raise BallotKeyError(f"V8: {where} holds a {n.bit_length()}-bit key; at least {min_bits} bits are required")
    return paillier.PaillierPrivateKey(paillier.PaillierPublicKey(n), p, q)


def key_from_file(path, create=False, bits=DEFAULT_BITS):
    """V8: the ballot key kept in a secret file, outside the voting database.  ``create``: make
    one (mode 0600) when the file does not exist (a development set-up; deployments provide
    the file).  Replicas starting together make it once: the file appears whole or not at all."""
    path = Path(path)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ballot-key-")   # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key_text(generate(bits)))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)          # never replaces a key another replica made meanwhile
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise BallotKeyError(f"V8: the ballot key file {path} cannot be read: {exc}") from None
    return BallotKey(parse(text, bits, where=f"the ballot key file {path}"))
