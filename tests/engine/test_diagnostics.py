"""Golden diagnostics: every broken file in tests/errors/ is headed by the exact lines that
loading it must report (`# expect: path:line:col: rule-id: field: problem (suggestion)`).

Rule files are loaded with `engine.spec.load_pack`, files under tests/errors/mappings/ with
`engine.mapping.load_mapping`. Paths in the headers are relative to the repository root.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.errors import RuleError
from engine.mapping import load_mapping
from engine.spec import load_pack
from engine.sqlcheck import find_name, text_comparisons
from engine.yamldoc import load_docs

ROOT = Path(__file__).resolve().parents[2]
ERRORS = Path("tests") / "errors"
GOLDEN = sorted(p.relative_to(ROOT) for p in (ROOT / ERRORS).rglob("*.yaml"))
RULE_FILES = [p for p in GOLDEN if "mappings" not in p.parts]


def expected(path: Path) -> list[str]:
    """The `# expect:` lines heading a golden file."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


def reported(path: Path) -> list[str]:
    """What the loader says about a file, one line per diagnostic."""
    load = load_mapping if "mappings" in path.parts else load_pack
    with pytest.raises(RuleError) as caught:
        load(path)
    return [str(d) for d in caught.value.diagnostics]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # headers name files relative to the repository root


@pytest.mark.parametrize("path", GOLDEN, ids=str)
def test_golden_file(path: Path) -> None:
    want = expected(path)
    assert want, f"{path}: no '# expect:' header"

    got = reported(path)

    assert got == want


def test_there_are_enough_golden_files() -> None:
    assert len(GOLDEN) >= 20
    assert any("mappings" in p.parts for p in GOLDEN)


def test_every_problem_of_a_file_is_reported_in_one_run() -> None:
    path = ERRORS / "three_problems.yaml"

    got = reported(path)

    assert len(got) == 3
    assert got == expected(path)


def test_every_problem_of_a_pack_is_reported_in_one_run() -> None:
    want = [line for path in sorted(RULE_FILES, key=str) for line in expected(path)]

    with pytest.raises(RuleError) as caught:
        load_pack(ERRORS)

    assert [str(d) for d in caught.value.diagnostics] == want


def test_a_missing_path_is_an_input_error() -> None:
    from engine.errors import InputError

    with pytest.raises(InputError, match="no such rule file or folder"):
        load_pack(ERRORS / "no_such_file.yaml")


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ('w: "a = 1 AND amout > 2"\n', 1, 15),
        ("w: 'a = ''q'' AND amout > 2'\n", 1, 19),
        ('w: "a = \\"q\\" AND\\tamout > 2"\n', 1, 20),
        ("w: a = 1 AND\n  amout > 2\n", 2, 3),
        ("w: |\n  a = 1\n    AND amout > 2\n", 3, 9),
        ("w: >-\n  a = 1 AND\n  amout > 2\n", 3, 3),
        ("- w: amout\n", 1, 6),
    ],
    ids=["double", "single", "escapes", "plain-folded", "literal", "folded", "in-list"],
)
def test_a_position_inside_a_value_accounts_for_its_yaml_style(
    text: str, line: int, col: int
) -> None:
    doc = load_docs("t.yaml", text)[0]
    keys: tuple[str | int, ...] = (0, "w") if isinstance(doc.data, list) else ("w",)
    value = doc.data[0]["w"] if isinstance(doc.data, list) else doc.data["w"]

    assert doc.where_in(keys, value.index("amout")) == (line, col)


@pytest.mark.parametrize(
    ("text", "name", "offset"),
    [
        ("amount_base > 1 AND amount > 2", "amount", 20),
        ("reference_text = 'amout' AND amout > 1", "amout", 29),
        ('"amout" > 1', "amout", 1),
        ("$amout > amout", "amout", 9),
        ("x > 1", "amout", -1),
    ],
)
def test_a_name_is_found_as_a_whole_word_outside_strings(text: str, name: str, offset: int) -> None:
    assert find_name(text, name) == offset


@pytest.mark.parametrize(
    ("sql", "flagged"),
    [
        ("amount > 'abc'", ["abc"]),
        ("'abc' <= amount_base * 2", ["abc"]),
        ("amount BETWEEN 'a' AND 100", ["a"]),
        ("card_present = 'yes'", ["yes"]),
        ("amount > '100'", []),
        ("channel = 'cash'", []),
        ("card_present = true AND amount > 5", []),
    ],
)
def test_text_compared_with_a_number_is_found(sql: str, flagged: list[str]) -> None:
    schema = {"amount": pl.Decimal(18, 2), "amount_base": pl.Decimal(18, 2)}
    schema |= {"channel": pl.String(), "card_present": pl.Boolean()}

    found = text_comparisons(pl.sql_expr(sql), schema)

    assert [f.literal for f in found] == flagged


def test_a_value_of_an_unexpected_shape_is_a_diagnostic_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(
        "id: TE-SHAPE-01\nkind: sequence\nby: account_id\n"
        "steps:\n  - {name: a, where: \"direction = 'in'\"}\n"
        "  - {name: b, where: \"direction = 'out'\"}\n"
        "repeat: {count: many}\n"
    )

    with pytest.raises(RuleError) as caught:
        load_pack(path)

    assert len(caught.value.diagnostics) == 1
    assert "'many'" in str(caught.value.diagnostics[0])


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text('---\nid: TE-EMPTY-01\nkind: transaction\nwhere: "amount > 1"\n---\n')

    assert [r.id for r in load_pack(path).rules] == ["TE-EMPTY-01"]
