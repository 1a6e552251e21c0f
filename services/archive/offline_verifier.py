#!/usr/bin/env python3
"""Verify an archive export offline (SPEC A2), with nothing of the suite installed.

Usage::

    python tools/verify_export.py export.jsonl --public-key <base64>

``export.jsonl`` is what the archive's ``export`` returns: one record per line
(RFC 8785 canonical JSON) in chain order, then one ``{"checkpoint": {...}}``
line, the organization's head signed with Ed25519.  ``--public-key`` is the
archive's checkpoint key (base64 of the raw 32 bytes) obtained from a trusted
channel (the archive's ``public_key`` call, published by the organization);
without it the key written in the checkpoint is used and the output says that
the signer was not checked independently.

What is checked, line by line:

- every line is JSON whose canonical form (RFC 8785) is the line itself;
- records are numbered 1, 2, 3 … of one organization;
- each record's ``prev_hash`` is the previous record's ``hash`` (64 zeros first);
- each record's ``hash`` is H(prev_hash + "\\n" + canonical envelope) with H its
  ``algorithm`` (``sha256``, or ``sm3`` of GB/T 32905-2016), the envelope being
  the fields seq, org_id, kind, record_id, source_event_id, classification,
  created_at, content, corrects, and reason / recorded_by / retention when present;
- the last line is the checkpoint: its seq and head_hash are the last record's,
  and its Ed25519 signature over the canonical
  ``{"org_id", "seq", "head_hash", "created_at"}`` is valid for the key.

Needs only Python 3.8+ and, for the signature, the ``cryptography`` package.
Without that package the chain is still verified and the output says the
signature was not checked.

A yearly transfer package for the records office (the archive's ``transfer_package``) is
verified the same way: it starts with a ``{"package": {...}}`` line naming the organization,
the year, its first and last seq and the hash the first record links to (the last hash of
the previous year's package: keep them together to check the link), and each checkpoint
signed inside the year follows the record it signs, the last one at the year's last record.

Exit status: 0 when everything checked is fine; 1 at the first bad line, which
is printed as ``line N: reason``; 2 when the file cannot be read.
"""
import argparse
import base64
import binascii
import hashlib
import json
import math
import re
import struct
import sys
from decimal import Decimal

GENESIS = "0" * 64
MAX_SAFE_INTEGER = 2 ** 53 - 1
ENVELOPE = ("seq", "org_id", "kind", "record_id", "source_event_id", "classification", "created_at",
            "content", "corrects")
OPTIONAL = ("reason", "recorded_by", "retention")
RECORD_FIELDS = set(ENVELOPE) | {"prev_hash", "hash", "algorithm"}


class Bad(Exception):
    pass


# ---------------------------------------------------------------- RFC 8785 canonical JSON

_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS = re.compile('["\\\\\x00-\x1f]')


def _string(value):
    if re.search("[\ud800-\udfff]", value):
        raise Bad("a lone surrogate has no canonical form")
    return '"' + _NEEDS.sub(lambda m: _ESC.get(m.group()) or "\\u%04x" % ord(m.group()), value) + '"'


def _number(value):
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise Bad("an integer outside the exact range of a JSON number")
        return str(value)
    if math.isnan(value) or math.isinf(value):
        raise Bad("NaN or infinity")
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _number(-value)
    _, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    n, k = len(digits) + exponent, len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return "%se%s%d" % (mantissa, "+" if n - 1 >= 0 else "-", abs(n - 1))


def canonical(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_string(k) + ":" + canonical(value[k]) for k in keys) + "}"
    raise Bad("not a JSON value")


# ---------------------------------------------------------------- SM3 (GB/T 32905-2016)

def _rotl(x, n):
    n &= 31
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def sm3_pure(data):
    v = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack(">Q", len(data) * 8)
    for i in range(0, len(padded), 64):
        w = list(struct.unpack(">16I", padded[i:i + 64]))
        for j in range(16, 68):
            x = w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)
            w.append(x ^ _rotl(x, 15) ^ _rotl(x, 23) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
        a, b, c, d, e, f, g, h = v
        for j in range(64):
            ss1 = _rotl((_rotl(a, 12) + e + _rotl(0x79CC4519 if j < 16 else 0x7A879D8A, j)) & 0xFFFFFFFF, 7)
            ss2 = ss1 ^ _rotl(a, 12)
            ff = a ^ b ^ c if j < 16 else (a & b) | (a & c) | (b & c)
            gg = e ^ f ^ g if j < 16 else (e & f) | (~e & g)
            tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) & 0xFFFFFFFF
            tt2 = (gg + h + ss1 + w[j]) & 0xFFFFFFFF
            d, c, b, a = c, _rotl(b, 9), a, tt1
            h, g, f, e = g, _rotl(f, 19), e, tt2 ^ _rotl(tt2, 9) ^ _rotl(tt2, 17)
        v = tuple(x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h)))
    return "".join("%08x" % x for x in v)


def sm3(data):
    try:
        return hashlib.new("sm3", data).hexdigest()     # the platform's, when it has one
    except ValueError:
        return sm3_pure(data)


DIGESTS = {"sha256": lambda data: hashlib.sha256(data).hexdigest(), "sm3": sm3}


# ---------------------------------------------------------------- checks

def parse(line):
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise Bad("not JSON (%s)" % exc)
    if not isinstance(value, dict):
        raise Bad("not a JSON object")
    if canonical(value) != line:
        raise Bad("not in canonical form (RFC 8785): the line was edited")
    return value


def check_record(record, expected_seq, prev_hash, org_id):
    missing = RECORD_FIELDS - set(record)
    if missing:
        raise Bad("record without %s" % ", ".join(sorted(missing)))
    if record["seq"] != expected_seq or isinstance(record["seq"], bool):
        raise Bad("seq %r where %d was expected (a record is missing, added or moved)" % (record["seq"], expected_seq))
    if org_id is not None and record["org_id"] != org_id:
        raise Bad("record of organization %r in the chain of %r" % (record["org_id"], org_id))
    if record["prev_hash"] != prev_hash:
        raise Bad("prev_hash does not link to the previous record (seq %d)" % expected_seq)
    digest = DIGESTS.get(record["algorithm"])
    if digest is None:
        raise Bad("unknown hash algorithm %r" % record["algorithm"])
    envelope = {name: record[name] for name in ENVELOPE}
    for name in OPTIONAL:
        if record.get(name) is not None:
            envelope[name] = record[name]
    if digest(prev_hash.encode("ascii") + b"\n" + canonical(envelope).encode("utf-8")) != record["hash"]:
        raise Bad("hash does not match the content (seq %d, record %s)" % (expected_seq, record["record_id"]))


def load_verifier():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None

    def verify(public_key, payload, signature):
        try:
            raw = base64.b64decode(public_key, validate=True)
            Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature, validate=True), payload)
            return True
        except (ValueError, binascii.Error, InvalidSignature):
            return False
    return verify


def check_checkpoint(cp, last_seq, last_hash, org_id, public_key, notes):
    if not isinstance(cp, dict):
        raise Bad("the checkpoint is not an object")
    for name in ("org_id", "seq", "head_hash", "created_at", "signature", "public_key", "algorithm"):
        if name not in cp:
            raise Bad("checkpoint without %s" % name)
    if org_id is not None and cp["org_id"] != org_id:
        raise Bad("checkpoint of organization %r after records of %r" % (cp["org_id"], org_id))
    if cp["seq"] != last_seq or cp["head_hash"] != last_hash:
        raise Bad("checkpoint (seq %r) does not match the last record (seq %d): records missing or added"
                  % (cp["seq"], last_seq))
    if cp["algorithm"] != "ed25519":
        raise Bad("unknown signature algorithm %r" % cp["algorithm"])
    verify = load_verifier()
    if verify is None:
        notes.append("signature NOT checked: the 'cryptography' package is not installed "
                     "(pip install cryptography); the hash chain was verified")
        return
    key = public_key or cp["public_key"]
    if public_key and public_key != cp["public_key"]:
        raise Bad("the checkpoint was signed by another key than the one given")
    payload = canonical({"org_id": cp["org_id"], "seq": cp["seq"], "head_hash": cp["head_hash"],
                         "created_at": cp["created_at"]}).encode("utf-8")
    if not verify(key, payload, cp["signature"]):
        raise Bad("the checkpoint signature is not valid")
    if not public_key:
        notes.append("signature valid for the key written in the checkpoint; pass --public-key to check "
                     "that it is the archive's")


def check_package(header):
    """A yearly transfer package starts with ``{"package": {...}}``: where its slice of the chain
    starts (``first_seq``, and ``prev_hash``, the hash of the record before it, which the previous
    year's package ends with) and ends (``last_seq``)."""
    if not isinstance(header, dict):
        raise Bad("the package header is not an object")
    for name in ("org_id", "year", "first_seq", "last_seq", "prev_hash", "records"):
        if name not in header:
            raise Bad("package header without %s" % name)
    first = header["first_seq"]
    if not isinstance(first, int) or isinstance(first, bool) or first < 1:
        raise Bad("package first_seq must be a positive integer")
    if first == 1 and header["prev_hash"] != GENESIS:
        raise Bad("a package starting at seq 1 must start from the genesis hash")
    if not isinstance(header["prev_hash"], str) or not re.fullmatch("[0-9a-f]{64}", header["prev_hash"]):
        raise Bad("package prev_hash must be 64 hex digits")
    return first, header["prev_hash"], header["org_id"]


def verify_lines(lines, public_key=None):
    """Return (ok, message, notes); message names the first bad line.

    An export is records from seq 1 then one checkpoint line.  A transfer package is a
    ``{"package": ...}`` header, then records from its ``first_seq`` with the checkpoints
    signed inside its range after the record they sign, ending with a checkpoint at its
    ``last_seq``.
    """
    notes = []
    expected_seq, prev_hash, org_id = 1, GENESIS, None
    checkpoint_seen = False
    package = None
    number = 0
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        try:
            value = parse(line)
            if number == 1 and "package" in value and len(value) == 1:
                package = value["package"]
                expected_seq, prev_hash, org_id = check_package(package)
                continue
            if checkpoint_seen and package is None:
                raise Bad("a line after the checkpoint")
            if "checkpoint" in value and len(value) == 1:
                if package is not None and expected_seq == package["first_seq"]:
                    raise Bad("a checkpoint before the package's first record")
                check_checkpoint(value["checkpoint"], expected_seq - 1, prev_hash, org_id, public_key, notes)
                checkpoint_seen = True
                if org_id is None:
                    org_id = value["checkpoint"]["org_id"]
                continue
            checkpoint_seen = False
            if package is not None and expected_seq > package["last_seq"]:
                raise Bad("a record beyond the package's last_seq %r" % package["last_seq"])
            check_record(value, expected_seq, prev_hash, org_id)
        except Bad as exc:
            return False, "line %d: %s" % (number, exc), notes
        org_id = value["org_id"]
        expected_seq += 1
        prev_hash = value["hash"]
    if not checkpoint_seen:
        return False, "line %d: the export ends without its checkpoint line (cut short?)" % (number + 1), notes
    if package is not None:
        count = expected_seq - package["first_seq"]
        if expected_seq - 1 != package["last_seq"] or count != package["records"]:
            return False, "line %d: the package ends at seq %d with %d records; its header says seq %r, %r records" % (
                number, expected_seq - 1, count, package["last_seq"], package["records"]), notes
        return True, "ok: %d records of %s for %s (seq %d-%d), chain intact up to the signed checkpoint" % (
            count, org_id, package["year"], package["first_seq"], package["last_seq"]), notes
    return True, "ok: %d records of %s, chain intact up to the signed checkpoint" % (expected_seq - 1, org_id), notes


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify an archive export offline (hash chain and signature).")
    parser.add_argument("export", help="the export file (JSON lines)")
    parser.add_argument("--public-key", help="the archive's Ed25519 public key, base64 of its raw 32 bytes")
    args = parser.parse_args(argv)
    try:
        with open(args.export, encoding="utf-8", newline="") as handle:
            ok, message, notes = verify_lines(handle, args.public_key)
    except (OSError, UnicodeDecodeError) as exc:
        print("cannot read %s: %s" % (args.export, exc), file=sys.stderr)
        return 2
    for note in notes:
        print("note: " + note, file=sys.stderr)
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
