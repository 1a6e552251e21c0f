"""The Chinese interface shows no English for anything an API error can carry: every error code,
rule ID and field name the server's code can answer with has a Chinese (and an English) entry in
the frontend's catalogue (i18n.js). Enumerated from the code, so a new field or rule without a
translation fails here."""
import importlib
import inspect
import re
from pathlib import Path

from marshmallow import Schema

ROOT = Path(__file__).resolve().parents[2]
I18N = (ROOT / "services" / "gateway" / "web" / "i18n.js").read_text(encoding="utf-8")
SOURCES = [p for d in ("services", "shared") for p in (ROOT / d).rglob("*.py")
           if "migrations" not in p.parts and "web" not in p.parts]
SCHEMA_MODULES = ["services.gateway.schemas", "services.meetings.schemas", "services.voting.schemas",
                  "services.accountability.schemas", "services.archive.schemas", "services.notifications.schemas"]
HAN = re.compile(r"[\u4e00-\u9fff]")


def dictionary(name):
    """The keys of one language's dictionary (const zh = {...} / const en = {...})."""
    body = re.search(rf"^const {name} = \{{(.*?)^\}};", I18N, re.S | re.M).group(1)
    return dict(re.findall(r'^\s*"([^"]+)":\s*"((?:[^"\\]|\\.)*)"', body, re.M)
                + re.findall(r'"([^"]+)":\s*"((?:[^"\\]|\\.)*)"(?=[,\s])', body))


def table(name):
    """A catalogue table: NAME = { "key": ["中文", "English"], ... }."""
    body = re.search(rf"^export const {name} = \{{(.*?)^\}};|^const {name} = \{{(.*?)^\}};", I18N, re.S | re.M)
    text = body.group(1) or body.group(2)
    return {k: (zh, en) for k, zh, en in re.findall(r'"([^"]+)":\s*\["([^"]*)",\s*"([^"]*)"\]', text)}


def code_text():
    return "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)


def server_codes():
    return set(re.findall(r'\bcode = "([a-z_]+)"', code_text()))


def server_rules():
    text = code_text()
    return set(re.findall(r'\brule="([A-Z]+[0-9]*)"', text)) | set(re.findall(r'rule="([A-Z]+[0-9]*)"', text))


def server_fields():
    """Field names in errors raised by hand and every schema field (400s name them). A dotted path
    ("members.0.stance") is shown part by part (fieldLabel in i18n.js), so each named part counts."""
    fields = set()
    for literal in re.findall(r'\bfield=f?"([^"]+)"', code_text()):
        for part in re.sub(r"\{[^}]*\}", "0", literal).split("."):
            if not part.isdigit():
                fields.add(part)
    for module in SCHEMA_MODULES:
        for obj in vars(importlib.import_module(module)).values():
            if inspect.isclass(obj) and issubclass(obj, Schema) and obj is not Schema:
                fields |= {f.data_key or name for name, f in obj._declared_fields.items()}
    return fields


def zh_text(prefix, key):
    zh = dictionary("zh")
    if f"{prefix}.{key}" in zh:
        return zh[f"{prefix}.{key}"]
    entry = {"code": table("ERROR_CODES"), "rule": table("MORE_RULES"), "field": table("FIELD_NAMES")}[prefix].get(key)
    return entry[0] if entry else None


def test_every_error_code_has_a_chinese_name():
    codes = server_codes() | {"method_not_allowed", "http_error", "network"}   # the gateway's HTTP answers, the browser's
    assert len(codes) >= 10, codes
    missing = sorted(c for c in codes if not zh_text("code", c) or not HAN.search(zh_text("code", c)))
    assert not missing, f"error codes without a Chinese name in i18n.js: {missing}"


def test_every_rule_has_a_chinese_name():
    rules = server_rules()
    assert {"M1", "M8", "C4", "AUTH"} <= rules, rules
    missing = sorted(r for r in rules if not zh_text("rule", r) or not HAN.search(zh_text("rule", r)))
    assert not missing, f"rules without a Chinese name in i18n.js: {missing}"


def test_every_field_has_a_chinese_and_an_english_name():
    fields = server_fields()
    assert {"scheduled_at", "present", "precoordination", "candidate_person_ids"} <= fields
    catalogue = table("FIELD_NAMES")
    missing = sorted(f for f in fields if not zh_text("field", f) or not HAN.search(zh_text("field", f)))
    assert not missing, f"fields without a Chinese name in i18n.js: {missing}"
    no_english = sorted(f for f in fields if f in catalogue and not catalogue[f][1].strip())
    assert not no_english, no_english


def test_every_archive_record_kind_and_notification_kind_has_a_name_in_both_languages():
    """A1/N1: the archive pages and the inbox name every kind in the reader's language, never the
    code's identifier (a kind without an entry would show as English in the Chinese interface)."""
    from services.archive.domain import RECORD_KINDS
    from services.notifications.domain import KINDS
    zh, en = dictionary("zh"), dictionary("en")
    wanted = [f"reckind.{k}" for k in RECORD_KINDS] + [f"notif.{k}" for k in KINDS]
    missing = [k for k in wanted if k not in zh or k not in en]
    assert not missing, f"kinds without a name in i18n.js: {missing}"
    assert all(HAN.search(zh[k]) for k in wanted), "a Chinese name without Chinese text"
