"""The simulation workbook's 汇总 as a spreadsheet shows it: shares in %, the change in points."""
import csv

from openpyxl import load_workbook

# LibreOffice CSV export: comma, double quote, UTF-8 (76), from line 1, …, cells as shown (token 9).
AS_SHOWN_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"


def test_summary_shows_shares_as_percent_and_the_change_in_points(runner, two_versions, tmp_path, libreoffice):
    out = tmp_path / "sim.xlsx"
    result = runner.invoke(args=["compare-mappings", "A", "B", "--from", "2025-11", "--to", "2025-12",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    ws = load_workbook(out)["汇总"]
    cells = {row[0].value: row[1] for row in ws.iter_rows(min_row=2, max_col=2)}
    for label in ("医疗服务收入占比 A", "医疗服务收入占比 B", "未归集占比 A", "未归集占比 B"):
        assert cells[label].number_format == "0.00%", label
    assert "个百分点" in cells["变动（百分点）"].number_format and "%" not in cells["变动（百分点）"].number_format
    # What LibreOffice displays (its CSV export writes cells as shown).
    shown = {row[0]: row[1] for row in csv.reader(libreoffice(out, AS_SHOWN_CSV).read_text(encoding="utf-8").splitlines())}
    points = cells["变动（百分点）"].value
    assert shown["变动（百分点）"] == f"{points:.2f} 个百分点"
    share_b = cells["医疗服务收入占比 B"].value
    assert shown["医疗服务收入占比 B"] == f"{share_b * 100:.2f}%"
    assert not shown["医疗服务收入占比 B"].startswith("0.")               # a share, not the raw fraction
