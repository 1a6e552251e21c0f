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

Values made only of the suite's plain types (str, int in the safe range, bool,
None, list, dict with string keys none of which holds a character beyond
U+FFFF) take a fast path through the standard library's C encoder, whose output
is then byte-for-byte what JCS prescribes (code-point order equals UTF-16 order
for such keys; Python's escapes are JCS's).  Everything else takes the general
path below.  Both are tested against each other.

Hash chain (A2)
---------------
Each organization has its own chain.  A record's hash is
``H(prev_hash + "\\n" + canonical_json(content_envelope))`` (hex, UTF-8), where H is
the record's ``algorithm`` (``sha256`` by default, ``sm3`` per GB/T 32905-2016
selectable per organization), the content envelope is ``{seq, org_id, kind,
record_id, source_event_id, classification, created_at, content, corrects}`` plus,
only when set (corrections), ``reason`` and ``recorded_by``, and ``prev_hash`` is
the previous record's hash (64 zeros for seq 1).  The chain head (last seq and last
hash, kept apart from the records) lets a verifier notice a truncated chain.  A
signed checkpoint (Ed25519 over ``{org_id, seq, head_hash, created_at}``) lets a
third party trust a head it receives with an export.

Verification recomputes every record's hash from its stored content; it first hashes the C
encoder's text of the envelope without the fast path's type scan, and falls back to the
strict canonical form only when that hash differs (see ``_verify_hash`` for why an equal
hash proves the same content).
"""
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass
from decimal import Decimal

from shared.clock import as_utc
from shared.errors import Forbidden, RuleViolation

DEFAULT_ALGORITHM = "sha256"
ALGORITHM = DEFAULT_ALGORITHM                                  # the default (kept name)
HASH_ALGORITHMS = ("sha256", "sm3")                           # A2
SIGNATURE_ALGORITHM = "ed25519"                                # A2 checkpoints
GENESIS_HASH = "0" * 64
MAX_SAFE_INTEGER = 2 ** 53 - 1

# A1: what the archive keeps (docs/rules.md); each kind comes from an
# event (ARCHIVED_EVENTS) or a correction.  Retention follows the records office's periods:
# 永久 (permanent), 30 年, 10 年 (RETENTION_OF_KIND).
PERMANENT, YEARS_30, YEARS_10 = "permanent", "30y", "10y"
RETENTIONS = (PERMANENT, YEARS_30, YEARS_10)
RETENTION_LABELS = {PERMANENT: "永久", YEARS_30: "30 年", YEARS_10: "10 年"}
RETENTION_OF_KIND = {
    # decisions and what makes or unmakes them: kept for ever
    "decision": PERMANENT, "supersession": PERMANENT, "reserved_opinion": PERMANENT,
    "responsibility": PERMANENT,
    # the meeting's own record: attendance, minutes, documents
    "meeting_opened": PERMANENT, "meeting_closed": PERMANENT, "minutes": PERMANENT,
    "minutes_approval": PERMANENT, "document": PERMANENT, "summary": PERMANENT,
    "provisional_handling": PERMANENT, "democratic_life": PERMANENT,
    # accountability (C6) and terms of office
    "case_opened": PERMANENT, "case_proposal": PERMANENT, "accountability_conclusion": PERMANENT,
    "term": PERMANENT,
    # preparation and procedure
    "topic_suggestion": YEARS_30, "topic": YEARS_30, "topic_preparation": YEARS_30, "topic_rejection": YEARS_30, "material": YEARS_30,
    "notice": YEARS_30, "objection": YEARS_30, "objection_disposition": YEARS_30, "meeting_rescheduled": YEARS_30,
    "meeting_cancelled": YEARS_30, "deferral": YEARS_30,
    "implementation_assignment": YEARS_30, "implementation_progress": YEARS_30,
    "implementation_postponement": YEARS_30, "implementation_non_execution": YEARS_30,
    # routine: leave, reminders, alerts, delivery failures
    "leave": YEARS_10, "leave_decision": YEARS_10, "implementation_overdue": YEARS_10,
    "implementation_reminder": YEARS_10,
    "alert": YEARS_10, "alert_acknowledgement": YEARS_10, "notification_failure": YEARS_10,
}
RECORD_KINDS = tuple(RETENTION_OF_KIND)


def retention_of(kind):
    """The retention period of a record kind (A1); unknown kinds are kept for ever."""
    return RETENTION_OF_KIND.get(kind, PERMANENT)


CLASSIFICATIONS = ("public", "internal", "confidential")     # A3
DEFAULT_CLASSIFICATION = "internal"                            # A3
OPEN_CLASSIFICATIONS = ("public", "internal")                  # A3: any role of the organization
CONFIDENTIAL_CATEGORIES = ("personnel",)                       # A3: decisions on these are confidential

# A3: roles that read confidential records (each read logged); the others are refused
CONFIDENTIAL_READERS = ("secretary", "deputy_secretary", "confidential_secretary", "discipline",
                        "org_department", "discipline_commission")
CORRECTORS = ("confidential_secretary", "office", "secretary")            # A1 corrections
SIGNERS = ("secretary", "office", "discipline")                           # A2 checkpoints
EXPORTERS = ("secretary", "deputy_secretary", "confidential_secretary", "office", "discipline",
             "org_department", "discipline_commission")                   # A2 export
READ_LOG_READERS = ("secretary", "discipline", "discipline_commission")   # A3 read log
SETTINGS_EDITORS = ("secretary", "office")                                # A2 hash algorithm

# verify() reasons, in the order they are checked for each record
SEQ_GAP = "seq_gap"                       # a record is missing (deleted) before this position
SEQ_DUPLICATE = "seq_duplicate"           # two records claim the same position
PREV_LINK_BROKEN = "prev_link_broken"     # reordered, inserted or a predecessor removed
UNKNOWN_ALGORITHM = "unknown_algorithm"
CONTENT_ALTERED = "content_altered"       # the stored hash does not match the stored content
TRUNCATED = "truncated"                   # records at the end are missing (head says more)
HEAD_MISMATCH = "head_mismatch"           # the head disagrees with the last record
CHECKPOINT_MISMATCH = "checkpoint_mismatch"   # a signed checkpoint names another hash at this seq (A2)
BEHIND_CHECKPOINT = "behind_checkpoint"   # the chain ends before a signed checkpoint: rolled back (A2)
ENVELOPE_FIELDS = ("seq", "org_id", "kind", "record_id", "source_event_id", "classification",
                   "created_at", "content", "corrects")
# hashed only when set: a correction's reason and author; the retention of records made since
# the retention period was introduced (older records were hashed without it and stay valid)
OPTIONAL_ENVELOPE_FIELDS = ("reason", "recorded_by", "retention")
CHAIN_FIELDS = ("prev_hash", "hash", "algorithm")
EXPORT_FIELDS = ENVELOPE_FIELDS + OPTIONAL_ENVELOPE_FIELDS + CHAIN_FIELDS


class CanonicalizationError(ValueError):
    """A value that has no canonical JSON form (RFC 8785 / I-JSON)."""


# ------------------------------------------------------------------ canonical JSON (RFC 8785)

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# the C encoder: sorted keys, no whitespace, literal UTF-8, JCS's escapes (made once, called
# directly: JSONEncoder.encode would rebuild it on every call)
_fast_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                                allow_nan=False, check_circular=False).encode


def _refuse(value):
    raise TypeError(f"{type(value).__name__} is not a JSON value")


try:                              # verification's quickest encoder, for values parsed from JSON text
    import orjson
except ImportError:               # pragma: no cover (a dependency; the C encoder below does the same)
    orjson = None


if json.encoder.c_make_encoder is not None and json.encoder.c_encode_basestring is not None:
    _c_encoder = json.encoder.c_make_encoder(None, _refuse, json.encoder.c_encode_basestring, None,
                                             ":", ",", True, False, False)

    def _fast_encode(value):      # noqa: F811  (same output, without the per-call set-up)
        return "".join(_c_encoder(value, 0))

    # the same without sorting: objects in their own order (verification's first try, see _verify_hash)
    _c_encoder_as_is = json.encoder.c_make_encoder(None, _refuse, json.encoder.c_encode_basestring, None,
                                                   ":", ",", False, False, False)

    def _encode_as_is(value):
        return "".join(_c_encoder_as_is(value, 0))
else:                             # pragma: no cover (CPython always has the C encoder)
    _encode_as_is = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=False,
                                     allow_nan=False, check_circular=False).encode


def _escape(match):
    ch = match.group()
    return _SHORT_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def _string(value):
    if _SURROGATE.search(value):
        raise CanonicalizationError("a lone surrogate has no canonical JSON form (RFC 8785, I-JSON)")
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


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


_LEAF_TYPES = frozenset((str, bool, type(None)))


def _plain(value):
    """True when ``value`` holds only types whose C-encoder output is already canonical.

    Hot path of verification: containers whose members are all strings, booleans
    or nulls are passed over with one C-level type scan; the keys of an object
    are checked in one ``join`` (TypeError: a key is not a string).
    """
    t = type(value)
    if t is not dict and t is not list:
        return t in _LEAF_TYPES or (t is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        container = pop()
        if type(container) is dict:
            try:
                keys = "".join(container)
            except TypeError:
                return False
            if not keys.isascii() and _ASTRAL.search(keys):
                return False        # UTF-16 order differs from code-point order beyond U+FFFF
            members = container.values()
        else:
            members = container
        if _LEAF_TYPES.issuperset(map(type, members)):
            continue
        for member in members:
            t = type(member)
            if t is dict or t is list:
                push(member)
            elif t is int:
                if not -MAX_SAFE_INTEGER <= member <= MAX_SAFE_INTEGER:
                    return False
            elif t not in _LEAF_TYPES:
                return False        # floats, tuples, subclasses, anything else: the general path
    return True


def canonical_json_general(value):
    """The general RFC 8785 serializer (every JSON value; the reference for the fast path)."""
    out = []
    _serialize(value, out)
    return "".join(out)


def canonical_json(value):
    """The RFC 8785 canonical form of ``value`` as text."""
    if _plain(value):
        text = _fast_encode(value)
        if text.isascii() or not _SURROGATE.search(text):
            return text
    return canonical_json_general(value)      # also raises for what has no canonical form


def canonical_bytes(value):
    """The RFC 8785 canonical form of ``value`` as UTF-8 bytes (what is hashed)."""
    if _plain(value):
        try:
            return _fast_encode(value).encode("utf-8")
        except UnicodeEncodeError:            # a lone surrogate: the general path refuses it
            pass
    return canonical_json_general(value).encode("utf-8")


# ------------------------------------------------------------------ SM3 (GB/T 32905-2016)

_SM3_IV = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
_M32 = 0xFFFFFFFF


def _rotl(x, n):
    n &= 31
    return ((x << n) | (x >> (32 - n))) & _M32


# T_j <<< (j mod 32), precomputed (§4.2 constants, §5.3.3 compression)
_SM3_T = tuple(_rotl(0x79CC4519 if j < 16 else 0x7A879D8A, j) for j in range(64))


def _sm3_compress(v, block):
    w = list(struct.unpack(">16I", block))
    for j in range(16, 68):                                   # §5.3.2 message expansion
        x = w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)
        x ^= _rotl(x, 15) ^ _rotl(x, 23)                      # P1
        w.append(x ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    a, b, c, d, e, f, g, h = v
    for j in range(64):                                       # §5.3.3 compression
        a12 = ((a << 12) | (a >> 20)) & _M32
        ss1 = (a12 + e + _SM3_T[j]) & _M32
        ss1 = ((ss1 << 7) | (ss1 >> 25)) & _M32
        ss2 = ss1 ^ a12
        if j < 16:
            ff, gg = a ^ b ^ c, e ^ f ^ g
        else:
            ff, gg = (a & b) | (a & c) | (b & c), (e & f) | (~e & g)
        tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) & _M32
        tt2 = (gg + h + ss1 + w[j]) & _M32
        d, c, b, a = c, ((b << 9) | (b >> 23)) & _M32, a, tt1
        h, g, f = g, ((f << 19) | (f >> 13)) & _M32, e
        e = tt2 ^ (((tt2 << 9) | (tt2 >> 23)) & _M32) ^ (((tt2 << 17) | (tt2 >> 15)) & _M32)   # P0
    return tuple(x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h)))


def sm3_pure(data):
    """SM3 digest (hex) of ``data`` in pure Python, from GB/T 32905-2016."""
    data = bytes(data)
    length = len(data) * 8
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack(">Q", length)   # §5.2
    v = _SM3_IV
    for i in range(0, len(padded), 64):
        v = _sm3_compress(v, padded[i:i + 64])
    return "".join(f"{x:08x}" for x in v)


def _sm3_native():
    """The platform's SM3 (OpenSSL) when it has one and it agrees with the standard's vectors."""
    try:
        if hashlib.new("sm3", b"abc").hexdigest() == sm3_pure(b"abc"):
            return lambda data: hashlib.new("sm3", data).hexdigest()
    except ValueError:
        pass
    return None


sm3 = _sm3_native() or sm3_pure          # same digests; the native one only faster


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


_DIGESTS = {"sha256": _sha256, "sm3": lambda data: sm3(data)}


def digest(algorithm, data):
    """A2: hex digest of ``data`` with one of HASH_ALGORITHMS."""
    try:
        return _DIGESTS[algorithm](data)
    except KeyError:
        raise ValueError(f"A2: unknown hash algorithm {algorithm!r}") from None


def check_algorithm(algorithm):
    if algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"A2: hash algorithm must be one of {', '.join(HASH_ALGORITHMS)}")
    return algorithm


# ------------------------------------------------------------------ what each event becomes (A1, A3)

def classify_decision(data):
    """A3: decisions are internal; personnel decisions are confidential."""
    return "confidential" if data.get("category") in CONFIDENTIAL_CATEGORIES else "internal"


# A3: kinds that are confidential whatever their content: discipline cases and what they propose
CONFIDENTIAL_KINDS = ("case_opened", "case_proposal", "accountability_conclusion")


@dataclass(frozen=True)
class ArchivedEvent:
    """How one consumed event type becomes a record (A1)."""
    kind: str                      # record kind (RECORD_KINDS)
    subject_field: str             # field of the data naming what the record is about
    classification: object = DEFAULT_CLASSIFICATION    # A3: a classification, or data -> classification

    def classify(self, data):
        if self.kind in CONFIDENTIAL_KINDS:
            return "confidential"
        return self.classification(data) if callable(self.classification) else self.classification

    @property
    def retention(self):
        return retention_of(self.kind)


# (source service, event type) -> record.  A new event type archived is one more line here and its
# subscription in shared/topology.py; the service makes one durable handler per line
# (``on_<event_type>``), and a unit test keeps the three in step.
ARCHIVED_EVENTS = {
    # meetings: terms, topics and their preparation (M3, M4), the meeting (M5-M9), minutes, documents
    ("meetings", "membership_changed"): ArchivedEvent("term", "person_id"),
    ("meetings", "topic_submitted"): ArchivedEvent("topic_suggestion", "topic_id", classify_decision),
    ("meetings", "topic_accepted"): ArchivedEvent("topic", "topic_id", classify_decision),
    ("meetings", "topic_rejected"): ArchivedEvent("topic_rejection", "topic_id", classify_decision),
    ("meetings", "meeting_noticed"): ArchivedEvent("notice", "meeting_id", "internal"),
    ("meetings", "meeting_rescheduled"): ArchivedEvent("meeting_rescheduled", "meeting_id"),
    ("meetings", "meeting_cancelled"): ArchivedEvent("meeting_cancelled", "meeting_id"),
    ("meetings", "objection_raised"): ArchivedEvent("objection", "objection_id"),
    ("meetings", "leave_requested"): ArchivedEvent("leave", "leave_id"),
    ("meetings", "leave_decided"): ArchivedEvent("leave_decision", "leave_id"),
    ("meetings", "meeting_opened"): ArchivedEvent("meeting_opened", "meeting_id"),
    ("meetings", "meeting_closed"): ArchivedEvent("meeting_closed", "meeting_id"),
    ("meetings", "minutes_recorded"): ArchivedEvent("minutes", "minutes_id"),
    ("meetings", "minutes_approved"): ArchivedEvent("minutes_approval", "minutes_id"),
    ("meetings", "document_issued"): ArchivedEvent("document", "document_id"),
    ("meetings", "provisional_handling_recorded"): ArchivedEvent("provisional_handling", "handling_id"),
    ("meetings", "meeting_missing_detected"): ArchivedEvent("alert", "month"),
    ("meetings", "democratic_life_missing_detected"): ArchivedEvent("alert", "year"),
    # voting: decisions (V9) and what follows them (V5, V6, V7)
    ("voting", "result_decided"): ArchivedEvent("decision", "decision_id", classify_decision),
    ("voting", "ballot_deferred"): ArchivedEvent("deferral", "decision_id", classify_decision),
    ("voting", "reserved_opinion_recorded"): ArchivedEvent("reserved_opinion", "decision_id"),
    ("voting", "decision_superseded"): ArchivedEvent("supersession", "decision_id"),
    # accountability: responsibility (C1), implementation (C5), alerts (C7), cases (C6)
    ("accountability", "responsibility_linked"): ArchivedEvent("responsibility", "decision_id"),
    ("accountability", "implementation_assigned"): ArchivedEvent("implementation_assignment", "task_id"),
    ("accountability", "implementation_reported"): ArchivedEvent("implementation_progress", "task_id"),
    ("accountability", "implementation_overdue"): ArchivedEvent("implementation_overdue", "task_id"),
    ("accountability", "implementation_postponed"): ArchivedEvent("implementation_postponement", "task_id"),
    ("accountability", "implementation_not_executable"): ArchivedEvent("implementation_non_execution", "task_id"),
    ("accountability", "compliance_alert_raised"): ArchivedEvent("alert", "alert_id"),
    ("accountability", "case_opened"): ArchivedEvent("case_opened", "case_id"),
    ("accountability", "case_concluded"): ArchivedEvent("accountability_conclusion", "case_id"),
    # notifications: a delivery that finally failed on its channel (N2)
    ("notifications", "notification_failed"): ArchivedEvent("notification_failure", "delivery_id", "internal"),
    # accountability, later additions: what a case proposes (C3), alert acknowledgements (C7),
    # implementation deadline reminders (C5)
    ("accountability", "case_proposed"): ArchivedEvent("case_proposal", "case_id"),
    ("accountability", "alert_acknowledged"): ArchivedEvent("alert_acknowledgement", "alert_id"),
    ("accountability", "implementation_due_soon"): ArchivedEvent("implementation_reminder", "task_id"),
    # meetings, later additions: materials (name, size, SHA-256), democratic life steps and
    # rectification (M11), staff terms (§二)
    ("meetings", "material_attached"): ArchivedEvent("material", "material_id", classify_decision),
    ("meetings", "democratic_life_step_recorded"): ArchivedEvent("democratic_life", "step_id"),
    ("meetings", "rectification_completed"): ArchivedEvent("democratic_life", "step_id"),
    ("meetings", "staff_appointment_changed"): ArchivedEvent("term", "person_id"),
    ("meetings", "objection_disposed"): ArchivedEvent("objection_disposition", "objection_id"),
    ("meetings", "topic_preparation_recorded"): ArchivedEvent("topic_preparation", "topic_id", classify_decision),
}


def check_subject(spec, data):
    """A1: the field naming the record's subject is a short non-empty text (or a number: a year)."""
    value = data.get(spec.subject_field) if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise RuleViolation(f"{spec.subject_field}: a {spec.kind} record needs its {spec.subject_field}",
                            field=spec.subject_field, rule="A1")
    return value


def archived_event(source, event_type):
    try:
        return ARCHIVED_EVENTS[(source, event_type)]
    except KeyError:
        raise ValueError(f"A1: {source}.{event_type} is not archived") from None


def meeting_of(content):
    """The meeting a record belongs to (search index; not hashed apart from the content)."""
    value = content.get("meeting_id") if isinstance(content, dict) else None
    return value if isinstance(value, str) and value else None


def persons_of(content):
    """Everyone a record names: members, recipients, chair (A1 search: "appears in members")."""
    found = set()
    if not isinstance(content, dict):
        return found
    for member in content.get("members") or ():
        if isinstance(member, dict) and isinstance(member.get("person_id"), str):
            found.add(member["person_id"])
    for person in content.get("recipients") or ():
        if isinstance(person, str):
            found.add(person)
    for key in ("chair_person_id", "person_id"):
        if isinstance(content.get(key), str):
            found.add(content[key])
    return {p for p in found if 0 < len(p) <= 64}


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


_ENVELOPE_ORDER = tuple(sorted(ENVELOPE_FIELDS + OPTIONAL_ENVELOPE_FIELDS))   # canonical order (ASCII names)
_OPTIONAL_FIELDS = frozenset(OPTIONAL_ENVELOPE_FIELDS)


def content_envelope(record):
    """The hashed part of a record (a dict with at least ENVELOPE_FIELDS), its keys in canonical
    order (``_ENVELOPE_ORDER``; written out: this runs once per record verified)."""
    get = record.get
    envelope = {"classification": get("classification"), "content": get("content"), "corrects": get("corrects"),
                "created_at": get("created_at"), "kind": get("kind"), "org_id": get("org_id")}
    reason = get("reason")
    if reason is not None:
        envelope["reason"] = reason
    envelope["record_id"] = get("record_id")
    recorded_by = get("recorded_by")
    if recorded_by is not None:
        envelope["recorded_by"] = recorded_by
    retention = get("retention")
    if retention is not None:
        envelope["retention"] = retention
    envelope["seq"] = get("seq")
    envelope["source_event_id"] = get("source_event_id")
    return envelope


def record_hash(prev_hash, envelope, algorithm=DEFAULT_ALGORITHM):
    """A2: H over the previous hash, a newline, and the canonical content envelope."""
    return digest(algorithm, prev_hash.encode("ascii") + b"\n" + canonical_bytes(envelope))


def _verify_hash(prev_hash, envelope, algorithm, sort_keys=True, finite=False):
    """A2 verification's quick path: the hash over the C encoder's output, without ``_plain``'s scan.

    Sound without the scan: the C encoder writes a faithful JSON text of the envelope
    (it raises on what it cannot write), so when ``H(prev_hash + "\\n" + text)`` equals the
    stored hash, ``text`` is, by collision resistance, the canonical form that was hashed when
    the record was made, and the stored content is that same JSON value.  The encoder
    departs from RFC 8785 only where a value has no canonical form at all (refused when the
    record was made, so such text was never hashed) or where it writes a number differently
    (``1e+16`` for JCS's ``10000000000000000``): the hashes then differ and the caller
    recomputes on the strict path (``record_hash``) before reporting the record as altered.
    (In memory only, a non-string key is written as a string: the same JSON text, so the
    same JSON value; stored content, parsed from JSON, has string keys.)

    ``sort_keys=False`` writes objects in their own key order, which skips the sorting when
    they are already in canonical order (content parsed from the key-sorted JSON the suite
    stores and sends, see ``shared.envelope.dumps``); the same argument holds — a text in
    another order is simply not the hashed one.  None when the encoder refuses the value.

    ``finite=True`` (every value parsed from JSON text that refused NaN and Infinity, as
    ``chain.verify_org`` reads the store) uses orjson, about four times quicker: the same
    faithful text, except that it writes NaN and Infinity as ``null`` — which is why it is
    used only where they cannot occur (a tampered ``NaN`` would otherwise pass for ``null``).
    It refuses integers beyond 64 bits; they take the C encoder's path.
    """
    try:
        if finite and orjson is not None:
            try:
                data = orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
            except TypeError:                            # orjson.JSONEncodeError: e.g. a 65-bit integer
                data = (_fast_encode if sort_keys else _encode_as_is)(envelope).encode("utf-8")
        else:
            data = (_fast_encode if sort_keys else _encode_as_is)(envelope).encode("utf-8")
    except (TypeError, ValueError, RecursionError):     # includes UnicodeEncodeError (lone surrogate)
        return None
    data = prev_hash.encode("ascii") + b"\n" + data
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    return _DIGESTS[algorithm](data)


def check_classification(classification):
    if classification not in CLASSIFICATIONS:
        raise ValueError(f"A3: classification must be one of {', '.join(CLASSIFICATIONS)}")
    return classification


def new_record(head_seq, head_hash, *, org_id, kind, record_id, source_event_id, created_at, content,
               classification=DEFAULT_CLASSIFICATION, corrects=None, algorithm=DEFAULT_ALGORITHM,
               reason=None, recorded_by=None, retention=None):
    """A1/A2: the next record of an organization's chain, after the head (``head_seq``, ``head_hash``).

    ``created_at`` is the ISO 8601 UTC text that is hashed.  A correction names the
    record it corrects (``corrects``), why (``reason``) and who recorded it
    (``recorded_by``).  ``retention`` (RETENTIONS), when given, is hashed with the
    record.  Raises ``CanonicalizationError`` when the content is not plain JSON.
    """
    if kind not in RECORD_KINDS:
        raise ValueError(f"A1: unknown record kind {kind!r}")
    if retention is not None and retention not in RETENTIONS:
        raise ValueError(f"A1: unknown retention {retention!r}")
    check_classification(classification)
    check_algorithm(algorithm)
    if not isinstance(content, dict):
        raise CanonicalizationError("A1: record content must be a JSON object")
    record = {
        "seq": head_seq + 1, "org_id": org_id, "kind": kind, "record_id": record_id,
        "source_event_id": source_event_id, "classification": classification,
        "created_at": created_at, "content": content, "corrects": corrects,
        "reason": reason, "recorded_by": recorded_by, "retention": retention,
    }
    record["prev_hash"] = head_hash if head_seq else GENESIS_HASH
    record["algorithm"] = algorithm
    record["hash"] = record_hash(record["prev_hash"], content_envelope(record), algorithm)
    return record


def build_chain(org_id, entries, created_at="2026-01-01T00:00:00Z", algorithm=DEFAULT_ALGORITHM):
    """A whole chain from ``[(record_id, source_event_id, content), ...]`` (tests, exports, benchmarks).

    ``algorithm`` is one name, or a function of the 0-based position (mixed chains).
    """
    records, seq, last = [], 0, GENESIS_HASH
    for i, (record_id, source_event_id, content) in enumerate(entries):
        rec = new_record(seq, last, org_id=org_id, kind="decision", record_id=record_id,
                         source_event_id=source_event_id, created_at=created_at, content=content,
                         algorithm=algorithm(i) if callable(algorithm) else algorithm)
        records.append(rec)
        seq, last = rec["seq"], rec["hash"]
    return records


class ChainVerifier:
    """A2: walks one organization's records in seq order and stops at the first bad one.

    ``head`` is ``(last_seq, last_hash)`` as kept apart from the records, or None
    when unknown.  Without a head a truncated chain (last records removed) cannot
    be told from a shorter one; with it, truncation and records appended behind
    the head's back are reported too.  Feed records with ``feed`` in seq order
    (as stored), then call ``finish``.  Each record is checked with its own
    algorithm, so a chain that changed algorithm (SHA-256, then SM3) verifies.
    """

    def __init__(self, head=None, finite=False, checkpoints=None):
        self.head = head
        # A2 (rollback): {seq: head_hash} of every checkpoint signed (kept by the archive and by
        # witnesses); the chain must pass through each and reach the furthest
        self.checkpoints = checkpoints or None
        self.finite = finite            # content parsed without NaN/Infinity (see _verify_hash)
        self.count = 0
        self.expected_seq = 1
        self.last_hash = GENESIS_HASH
        self.last_record_id = None
        self.first_bad = None
        self._as_is = True              # try objects in their own key order first (see feed)

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
        algorithm = record.get("algorithm")
        if algorithm not in _DIGESTS:
            return self._bad(seq, record_id, UNKNOWN_ALGORITHM)
        envelope = content_envelope(record)
        stored = record.get("hash")
        # quick paths first (see _verify_hash): objects in their own order while that matches
        # (content parsed from stored, key-sorted JSON), else sorted by the C encoder
        prev_hash = record["prev_hash"]
        good = False
        if self._as_is:
            good = _verify_hash(prev_hash, envelope, algorithm, sort_keys=False, finite=self.finite) == stored
            self._as_is = good          # not in canonical order: sort from here on
        if not good and _verify_hash(prev_hash, envelope, algorithm, finite=self.finite) != stored:
            # the strict path: the content has no canonical form, or the quick serialization
            # differs from it (a float such as 1e16, which only the strict path writes as JCS does)
            try:
                recomputed = record_hash(prev_hash, envelope, algorithm)
            except CanonicalizationError:
                recomputed = None
            if recomputed != stored:
                return self._bad(seq, record_id, CONTENT_ALTERED)
        if self.head is not None and seq > self.head[0]:
            return self._bad(seq, record_id, HEAD_MISMATCH)      # appended without moving the head
        if self.checkpoints is not None and seq in self.checkpoints and self.checkpoints[seq] != stored:
            return self._bad(seq, record_id, CHECKPOINT_MISMATCH)  # rewritten after it was signed
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
        if self.first_bad is None and self.checkpoints is not None:
            furthest = max(self.checkpoints)
            last_seq = self.expected_seq - 1
            if furthest > last_seq:
                # A2: records and head moved back together; a signed checkpoint still says more
                self._bad(last_seq + 1, None, BEHIND_CHECKPOINT)
        return {"ok": self.first_bad is None, "records": self.count, "first_bad": self.first_bad}


def verify(records, head=None, finite=False, checkpoints=None):
    """A2: verify a chain given as a list of records (any order; walked by seq).

    Returns ``{"ok", "records", "first_bad": None | {"seq", "record_id", "reason"}}``;
    ``records`` counts the records found good before the first bad one (all of them when ok).
    """
    verifier = ChainVerifier(head, finite, checkpoints)
    for record in sorted(records, key=lambda r: (r.get("seq") if isinstance(r.get("seq"), int) else -1)):
        if not verifier.feed(record):
            break
    return verifier.finish()


# ------------------------------------------------------------------ corrections (A1)

def check_correctable(record_row_corrected_by):
    """A1: only the latest version is corrected (history stays a single line)."""
    if record_row_corrected_by is not None:
        raise RuleViolation(f"A1: this version was already corrected by record {record_row_corrected_by}; "
                            "correct the latest version", field="record_id", rule="A1")


# ------------------------------------------------------------------ checkpoints and export (A2)

def checkpoint_payload(org_id, seq, head_hash, created_at):
    """A2: the bytes an Ed25519 checkpoint signature covers (canonical JSON)."""
    return canonical_bytes({"org_id": org_id, "seq": seq, "head_hash": head_hash, "created_at": created_at})


def export_record(record):
    """A2: one export line's object: every hashed field plus prev_hash, hash and algorithm."""
    line = {name: record.get(name) for name in ENVELOPE_FIELDS + CHAIN_FIELDS}
    for name in OPTIONAL_ENVELOPE_FIELDS:
        if record.get(name) is not None:
            line[name] = record[name]
    return line


def export_text(records, checkpoint):
    """A2: JSON lines, one canonical record per line in seq order, then ``{"checkpoint": {...}}``."""
    lines = [canonical_json(export_record(r)) for r in records]
    lines.append(canonical_json({"checkpoint": checkpoint}))
    return "\n".join(lines) + "\n"


def trusted_checkpoints(org_id, checkpoints, public_key, verify_signature):
    """A2: ``{seq: head_hash}`` of the given checkpoints of ``org_id`` signed with ``public_key``
    (a witness's copy is believed only for what the archive's key signed)."""
    trusted = {}
    for cp in checkpoints:
        if not isinstance(cp, dict) or cp.get("org_id") != org_id or cp.get("public_key") != public_key:
            continue
        seq, head_hash, created_at = cp.get("seq"), cp.get("head_hash"), cp.get("created_at")
        if isinstance(seq, bool) or not isinstance(seq, int) or not isinstance(head_hash, str) \
                or not isinstance(created_at, str) or not isinstance(cp.get("signature"), str):
            continue
        try:
            payload = checkpoint_payload(org_id, seq, head_hash, created_at)
        except CanonicalizationError:
            continue
        if verify_signature(public_key, payload, cp["signature"]):
            trusted[seq] = head_hash
    return trusted


# A2 (rollback): RFC 6962 Merkle tree over the record hashes and consistency proofs between
# checkpoints live in shared.merkle (the witness checks them too)
from shared.merkle import consistency_proof, merkle_root, verify_consistency  # noqa: E402,F401


TRANSFER_FORMAT = "archive-transfer/1"


def transfer_text(header, records, checkpoints):
    """A1/A2: a yearly transfer package for the records office, as JSON lines.

    ``{"package": header}``, then the year's records in seq order, each signed checkpoint
    right after the record it signs (the last at the year's last record), so that
    ``tools/verify_export.py`` checks the slice offline: the first record links to
    ``header["prev_hash"]`` (the previous year's last hash), every record's hash, and every
    signature.
    """
    by_seq = {}
    for checkpoint in checkpoints:
        by_seq.setdefault(checkpoint["seq"], []).append(checkpoint)
    lines = [canonical_json({"package": header})]
    for record in records:
        lines.append(canonical_json(export_record(record)))
        for checkpoint in by_seq.get(record["seq"], ()):
            lines.append(canonical_json({"checkpoint": checkpoint}))
    return "\n".join(lines) + "\n"


def check_year(year):
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2200:
        raise RuleViolation("year: a calendar year between 2000 and 2200", field="year", rule="A1")
    return year


def proof(record, checkpoint):
    """A2: what a reader needs to check one record's place in the chain.

    The record's hash is recomputed from ``prev_hash`` and ``canonical_envelope``;
    the signed checkpoint pins the head; when it ``covers`` the record, the export
    (records seq+1 .. checkpoint seq) links the two.
    """
    envelope = content_envelope(record)
    return {
        "algorithm": record["algorithm"], "prev_hash": record["prev_hash"], "hash": record["hash"],
        "canonical_envelope": canonical_json(envelope),
        "checkpoint": checkpoint,
        "covered": bool(checkpoint) and checkpoint["seq"] >= record["seq"],
    }


# ------------------------------------------------------------------ reading (A3)

def may_read_content(classification, actor=None):
    """A3: any role of the organization reads public and internal records; confidential
    records only the CONFIDENTIAL_READERS (and every such read is logged)."""
    if classification in OPEN_CLASSIFICATIONS:
        return True
    return actor is not None and actor.has(*CONFIDENTIAL_READERS)


def read_refusal(classification, actor=None):
    """A3: None when ``actor`` may read a record of ``classification``, else the Forbidden error."""
    if may_read_content(classification, actor):
        return None
    return Forbidden("A3: a confidential record is read only by the secretary, deputy secretary, "
                        "confidential secretary or discipline inspectors", field="record_id", rule="A3")


def check_read(classification, actor=None):
    refusal = read_refusal(classification, actor)
    if refusal is not None:
        raise refusal
