"""Spreadsheet text written by any export is inert."""
from etl.common.tabular import neutralise


def test_formula_text_is_neutralised():
    assert neutralise('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [neutralise(v) for v in ("+1", "-1", "@SUM(A1)", "\tx")] == ["'+1", "'-1", "'@SUM(A1)", "'\tx"]
    assert neutralise("正常文本") == "正常文本" and neutralise(-5) == -5
