"""The ratings export: exact JSON numbers."""
import json
from decimal import Decimal

from reports.exports.ratings import dumps


def test_json_numbers_are_exact():
    text = dumps({"v": Decimal("0.12345678901234567890123"), "n": None, "i": Decimal(-3)})
    assert json.loads(text, parse_float=Decimal) == {"v": Decimal("0.12345678901234567890123"), "n": None, "i": -3}
    assert '"0.1234' not in text                       # a number, not a string

