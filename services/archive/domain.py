"""Archive rules in plain Python (no nameko, no database): A1 records, A2 hash chain, A3 classification.

Canonical JSON (RFC 8785, JSON Canonicalization Scheme)
-------------------------------------------------------
``canonical_json`` serializes the JSON the suite produces exactly as JCS does:

- objects: members sorted by their keys compared as UTF-16 code units, no whitespace;
- strings: ``"`` and ``\\`` escaped, ``\\b \\f \\n \\r \\t`` short escapes, other
  control characters below U+0020 as ``\\u00xx`` (lower-case hex), everything else
  (Chinese text included) kept literally and encoded as UTF-8;
- ``null``, ``true``, ``false``;
- integers in decimal.  Integers outside the IEEE 754 double's exact range
  (|n| > 2**53 - 1) are refused: JCS numbers are doubles, so such a value
  would not survive another implementation;
- floats (none in the suite's payloads, but accepted) as ECMAScript's
  ``Number.prototype.toString`` writes them, as JCS requires: ``4.50`` -> ``4.5``,
  ``1.0`` -> ``1``, ``1e30`` -> ``1e+30``, ``0.002`` -> ``0.002``; NaN and infinities are refused.

Anything else (dates, bytes, sets, lone surrogates, non-string keys) is refused with
``CanonicalizationError``: a record is hashed only from plain JSON values.

Hash chain (A2)
---------------
Each organization has its own chain.  A record's hash is
``sha256(prev_hash + "\\n" + canonical_json(content_envelope))`` (hex, UTF-8), where the
content envelope is ``{seq, org_id, kind, record_id, source_event_id, classification,
created_at, content, corrects}`` and ``prev_hash`` is the previous record's hash (64 zeros
for seq 1).  The chain head (last seq and last hash, kept apart from the records) lets a
verifier notice a truncated chain.
"""
import hashlib
import math
from decimal import Decimal

from shared.clock import as_utc
from shared.errors import Forbidden, RuleViolation

ALGORITHM = "sha256"
GENESIS_HASH = "0" * 64
MAX_SAFE_INTEGER = 2 ** 53 - 1

RECORD_KINDS = ("decision",)                                   # A1 (more kinds as they are archived)
CLASSIFICATIONS = ("public", "internal", "confidential")     # A3
DEFAULT_CLASSIFICATION = "internal"                            # A3
# A3: without read-logging, only these classifications may be read by any role of the organization
OPEN_CLASSIFICATIONS = ("public", "internal")

# verify() reasons, in the order they are checked for each record
SEQ_GAP = "seq_gap"                       # a record is missing (deleted) before this position
SEQ_DUPLICATE = "seq_duplicate"           # two records claim the same position
PREV_LINK_BROKEN = "prev_link_broken"     # reordered, inserted or a predecessor removed
UNKNOWN_ALGORITHM = "unknown_algorithm"
CONTENT_ALTERED = "content_altered"       # the stored hash does not match the stored content
TRUNCATED = "truncated"                   # records at the end are missing (head says more)
HEAD_MISMATCH = "head_mismatch"           # the head disagrees with the last record
ENVELOPE_FIELDS = ("seq", "org_id", "kind", "record_id", "source_event_id", "classification",
                   "created_at", "content", "corrects")


class CanonicalizationError(ValueError):
    """A value that has no canonical JSON form (RFC 8785 / I-JSON)."""


# ------------------------------------------------------------------ canonical JSON (RFC 8785)

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(value):
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise CanonicalizationError("a lone surrogate has no canonical JSON form (RFC 8785, I-JSON)")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(key):
    # big-endian UTF-16 bytes compare exactly like the sequence of UTF-16 code units
    return key.encode("utf-16-be", "surrogatepass")


def _float(value):
    """ECMAScript Number.prototype.toString (what RFC 8785 §3.2.2.3 prescribes)."""
    if math.isnan(value) or math.isinf(value):
        raise CanonicalizationError("NaN and infinities have no JSON form")
    if value == 0:
        return "0"                      # also -0
    if value < 0:
        return "-" + _float(-value)
    # repr() gives the shortest digits that round-trip, as ECMAScript requires
    _sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    # value = digits * 10**exponent = 0.d1...dk * 10**n
    n = len(digits) + exponent
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _serialize(value, out):
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError(f"integer {value} is outside the exact range of a JSON number")
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalizationError(f"object keys must be strings, not {type(key).__name__}")
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _serialize(value[key], out)
        out.append("}")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def canonical_json(value):
    """The RFC 8785 canonical form of ``value`` as text."""
    out = []
    _serialize(value, out)
    return "".join(out)


def canonical_bytes(value):
    """The RFC 8785 canonical form of ``value`` as UTF-8 bytes (what is hashed)."""
    return canonical_json(value).encode("utf-8")


# ------------------------------------------------------------------ records and the chain (A1, A2)

def timestamp(value):
    """The hashed text of an instant: UTC, always with microseconds (what every backend keeps)."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_secrecy(data):
    """V8: a secret ballot's decision never links a member to a choice.

    The archive keeps records for ever and cannot erase one, so it refuses such
    a decision instead of storing it.  Participation (``voted``) and reserved
    opinions (V6) are kept.
    """
    if data.get("method") != "secret":
        return
    for member in data.get("members") or ():
        if isinstance(member, dict) and member.get("stance") is not None:
            raise RuleViolation("V8: a secret ballot's decision must not carry members' stances",
                                field="members.stance", rule="V8")


def content_envelope(record):
    """The hashed part of a record (a dict with at least ENVELOPE_FIELDS)."""
    return {name: record.get(name) for name in ENVELOPE_FIELDS}


def record_hash(prev_hash, envelope):
    """A2: sha256 over the previous hash, a newline, and the canonical content envelope."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_bytes(envelope)).hexdigest()


def check_classification(classification):
    if classification not in CLASSIFICATIONS:
        raise ValueError(f"A3: classification must be one of {', '.join(CLASSIFICATIONS)}")
    return classification


def new_record(head_seq, head_hash, *, org_id, kind, record_id, source_event_id, created_at, content,
               classification=DEFAULT_CLASSIFICATION, corrects=None):
    """A1/A2: the next record of an organization's chain, after the head (``head_seq``, ``head_hash``).

    ``created_at`` is the ISO 8601 UTC text that is hashed.  Raises
    ``CanonicalizationError`` when the content is not plain JSON.
    """
    if kind not in RECORD_KINDS:
        raise ValueError(f"A1: unknown record kind {kind!r}")
    check_classification(classification)
    if not isinstance(content, dict):
        raise CanonicalizationError("A1: record content must be a JSON object")
    record = {
        "seq": head_seq + 1, "org_id": org_id, "kind": kind, "record_id": record_id,
        "source_event_id": source_event_id, "classification": classification,
        "created_at": created_at, "content": content, "corrects": corrects,
    }
    record["prev_hash"] = head_hash if head_seq else GENESIS_HASH
    record["algorithm"] = ALGORITHM
    record["hash"] = record_hash(record["prev_hash"], content_envelope(record))
    return record


def build_chain(org_id, entries, created_at="2026-01-01T00:00:00Z"):
    """A whole chain from ``[(record_id, source_event_id, content), ...]`` (tests, exports)."""
    records, seq, last = [], 0, GENESIS_HASH
    for record_id, source_event_id, content in entries:
        rec = new_record(seq, last, org_id=org_id, kind="decision", record_id=record_id,
                         source_event_id=source_event_id, created_at=created_at, content=content)
        records.append(rec)
        seq, last = rec["seq"], rec["hash"]
    return records


class ChainVerifier:
    """A2: walks one organization's records in seq order and stops at the first bad one.

    ``head`` is ``(last_seq, last_hash)`` as kept apart from the records, or None
    when unknown.  Without a head a truncated chain (last records removed) cannot
    be told from a shorter one; with it, truncation and records appended behind
    the head's back are reported too.  Feed records with ``feed`` in seq order
    (as stored), then call ``finish``.
    """

    def __init__(self, head=None):
        self.head = head
        self.count = 0
        self.expected_seq = 1
        self.last_hash = GENESIS_HASH
        self.last_record_id = None
        self.first_bad = None

    @property
    def ok(self):
        return self.first_bad is None

    def _bad(self, seq, record_id, reason):
        self.first_bad = {"seq": seq, "record_id": record_id, "reason": reason}
        return False

    def feed(self, record):
        """Check one record; False (and ``first_bad`` set) at the first problem."""
        if self.first_bad is not None:
            return False
        seq, record_id = record.get("seq"), record.get("record_id")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq > self.expected_seq:
            # the record for ``expected_seq`` is missing: report the position that is gone
            return self._bad(self.expected_seq, record_id, SEQ_GAP)
        if seq < self.expected_seq:
            return self._bad(seq, record_id, SEQ_DUPLICATE)
        if record.get("prev_hash") != self.last_hash:
            return self._bad(seq, record_id, PREV_LINK_BROKEN)
        if record.get("algorithm") != ALGORITHM:
            return self._bad(seq, record_id, UNKNOWN_ALGORITHM)
        try:
            recomputed = record_hash(record["prev_hash"], content_envelope(record))
        except CanonicalizationError:
            recomputed = None
        if recomputed != record.get("hash"):
            return self._bad(seq, record_id, CONTENT_ALTERED)
        if self.head is not None and seq > self.head[0]:
            return self._bad(seq, record_id, HEAD_MISMATCH)      # appended without moving the head
        self.count += 1
        self.expected_seq += 1
        self.last_hash = record["hash"]
        self.last_record_id = record_id
        return True

    def finish(self):
        """The result: ``{"ok", "records", "first_bad": None | {"seq", "record_id", "reason"}}``."""
        if self.first_bad is None and self.head is not None:
            head_seq, head_hash = self.head
            last_seq = self.expected_seq - 1
            if head_seq > last_seq:
                self._bad(last_seq + 1, None, TRUNCATED)
            elif head_hash != self.last_hash:
                self._bad(last_seq, self.last_record_id, HEAD_MISMATCH)
        return {"ok": self.first_bad is None, "records": self.count, "first_bad": self.first_bad}


def verify(records, head=None):
    """A2: verify a chain given as a list of records (any order; walked by seq).

    Returns ``{"ok", "records", "first_bad": None | {"seq", "record_id", "reason"}}``;
    ``records`` counts the records found good before the first bad one (all of them when ok).
    """
    verifier = ChainVerifier(head)
    for record in sorted(records, key=lambda r: (r.get("seq") if isinstance(r.get("seq"), int) else -1)):
        if not verifier.feed(record):
            break
    return verifier.finish()


# ------------------------------------------------------------------ reading (A3)

def may_read_content(classification):
    """A3: any role of the organization reads public and internal records.

    Confidential records need every read logged (who, when, what); until the
    archive logs reads their content is not handed out at all.
    """
    return classification in OPEN_CLASSIFICATIONS


def check_read(classification):
    if not may_read_content(classification):
        raise Forbidden("A3: reading a confidential record needs a logged read", field="record_id", rule="A3")
