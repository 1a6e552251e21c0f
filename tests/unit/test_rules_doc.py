"""docs/rules.md cannot drift from the code: every clause of the rules text and every rule ID
of the specification has a row, and every function and test a row names exists.

Functions are imported and looked up; tests are found by parsing their file (nothing runs).
"""
import ast
import importlib
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rules.md"

CHINESE_NUMBERS = "一二三四五六七八九十"
# the numbering of the rules text (局党组工作规则): part -> number of items (一) … in it
CLAUSES_PER_PART = {"一": 7, "二": 5, "三": 12, "四": 4, "五": 3}
RULE_IDS = ([f"M{i}" for i in range(1, 12)] + [f"V{i}" for i in range(1, 10)] + ["N1", "N2"]
            + [f"A{i}" for i in range(1, 4)] + [f"C{i}" for i in range(1, 8)])
NOT_ENFORCED = "not enforced by software"

CLAUSE = re.compile(r"([一二三四五])\(([一二三四五六七八九十]+)\)")
RULE = re.compile(r"\b([MVNAC]\d{1,2})\b")
FUNCTION = re.compile(r"`((?:services|shared)(?:\.\w+)+):(\w+(?:\.\w+)?)`")
TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def chinese(n):
    """1..19 in the numbering of the text: 一 … 十, 十一, 十二 …"""
    if n <= 10:
        return CHINESE_NUMBERS[n - 1]
    return "十" + CHINESE_NUMBERS[n - 11]


def rows():
    """Each table row of the page -> dict of its cells (header names as keys), its line number and
    the section (## heading) it is in."""
    header, section, found = None, None, []
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            section = line[3:].strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|-: "):
            assert len(cells) == len(header), f"rules.md line {number}: {len(cells)} cells, header has {len(header)}"
            found.append({"line": number, "section": section, **dict(zip(header, cells))})
    return found


ROWS = rows()


@lru_cache(maxsize=None)
def defined_tests(path):
    """Top-level test functions, test methods of top-level classes, and top-level names bound to
    a test case (``test_x = Machine.TestCase``, how hypothesis state machines are collected)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(f.name for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)))
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {name for name in names if name.startswith(("test", "Test"))}


def test_the_page_has_the_five_columns():
    assert ROWS, "rules.md has no table rows"
    for row in ROWS:
        assert set(row) >= {"Clause", "Rules", "Enforced by", "Tests"}, f"line {row['line']}: {sorted(row)}"


def test_every_clause_of_the_rules_text_has_a_row_in_its_part():
    """Each clause has a row of its own in the section of its part (## 一 …); rows elsewhere that
    mention a clause (issue 16's, the rules with no clause of their own) do not count for it."""
    expected = {f"{part}({chinese(i)})" for part, count in CLAUSES_PER_PART.items() for i in range(1, count + 1)}
    assert len(expected) == 31
    own = {}
    for row in ROWS:
        part = (row["section"] or " ")[0]
        if part in CLAUSES_PER_PART:
            assert CLAUSE.fullmatch(row["Clause"]), f"line {row['line']}: one clause per row, got {row['Clause']!r}"
            assert row["Clause"][0] == part, f"line {row['line']}: {row['Clause']} is not in part {part}"
            assert row["Clause"] not in own, f"line {row['line']}: {row['Clause']} also at line {own.get(row['Clause'])}"
            own[row["Clause"]] = row["line"]
    assert sorted(expected - set(own)) == [], "clauses of the rules text without a row"
    assert sorted(set(own) - expected) == [], "rows of clauses the rules text does not have"
    mentioned = {f"{m.group(1)}({m.group(2)})" for row in ROWS for m in CLAUSE.finditer(row["Clause"])}
    assert sorted(mentioned - expected) == [], "rows citing clauses the rules text does not have"


def test_every_rule_id_of_the_specification_has_a_row():
    cited = {rule for row in ROWS for rule in RULE.findall(row["Rules"])}
    assert set(RULE_IDS) - cited == set(), "rule IDs without a row"
    assert cited - set(RULE_IDS) == set(), "rows citing rule IDs the specification does not have"


def test_a_row_names_its_functions_and_tests_or_says_it_is_not_enforced():
    for row in ROWS:
        functions = FUNCTION.findall(row["Enforced by"])
        tests = TEST.findall(row["Tests"])
        if NOT_ENFORCED in row["Enforced by"] and not RULE.findall(row["Rules"]):
            assert not tests, f"line {row['line']}: a clause not enforced has no tests to cite"
            continue
        assert RULE.findall(row["Rules"]), f"line {row['line']}: an enforced clause names its rule IDs"
        assert functions, f"line {row['line']}: no enforcing function named"
        assert tests, f"line {row['line']}: no test named"


def test_every_rule_id_has_an_enforcing_function_and_a_test():
    enforced = {}
    for row in ROWS:
        if FUNCTION.findall(row["Enforced by"]) and TEST.findall(row["Tests"]):
            for rule in RULE.findall(row["Rules"]):
                enforced.setdefault(rule, row["line"])
    assert [rule for rule in RULE_IDS if rule not in enforced] == []


CITED_FUNCTIONS = sorted({ref for row in ROWS for ref in FUNCTION.findall(row["Enforced by"])})
CITED_TESTS = sorted({ref for row in ROWS for ref in TEST.findall(row["Tests"])})


@pytest.mark.parametrize("module, name", CITED_FUNCTIONS, ids=[f"{m}:{n}" for m, n in CITED_FUNCTIONS])
def test_a_cited_function_exists(module, name):
    target = importlib.import_module(module)
    for part in name.split("."):
        assert hasattr(target, part), f"{module}:{name}: no {part!r}"
        target = getattr(target, part)
    assert callable(target) or isinstance(target, property), f"{module}:{name} is not callable"


@pytest.mark.parametrize("path, name", CITED_TESTS, ids=[f"{p}::{n}" for p, n in CITED_TESTS])
def test_a_cited_test_exists(path, name):
    assert (ROOT / path).is_file(), f"{path}: no such test file"
    assert name in defined_tests(path), f"{path}: no test named {name}"


def test_the_checker_sees_a_missing_function_and_a_missing_test():
    with pytest.raises(AssertionError):
        test_a_cited_function_exists("services.voting.domain", "no_such_rule")
    with pytest.raises(AssertionError):
        test_a_cited_function_exists("services.voting.domain", "Ballot.no_such_method")
    with pytest.raises(ModuleNotFoundError):
        test_a_cited_function_exists("services.voting.no_such_module", "outcome")
    with pytest.raises(AssertionError):
        test_a_cited_test_exists("tests/unit/test_voting_domain.py", "test_no_such_test")
    assert chinese(10) == "十" and chinese(12) == "十二"
