"""Export writers: exact JSON numbers, inert spreadsheet text."""
import json
from decimal import Decimal

from reports.exports.ratings import dumps, neutralise


def test_json_numbers_are_exact():
    text = dumps({"v": Decimal("0.12345678901234567890123"), "n": None, "i": Decimal(-3)})
    assert json.loads(text, parse_float=Decimal) == {"v": Decimal("0.12345678901234567890123"), "n": None, "i": -3}
    assert '"0.1234' not in text                       # a number, not a string


def test_formula_text_is_neutralised():
    assert neutralise('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [neutralise(v) for v in ("+1", "-1", "@SUM(A1)", "\tx")] == ["'+1", "'-1", "'@SUM(A1)", "'\tx"]
    assert neutralise("正常文本") == "正常文本" and neutralise(-5) == -5
