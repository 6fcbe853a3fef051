"""The ratings export: exact JSON numbers."""
import io
import json
from decimal import Decimal

from reports.exports.ratings import dumps


def test_json_numbers_are_exact():
    text = dumps({"v": Decimal("0.12345678901234567890123"), "n": None, "i": Decimal(-3)})
    assert json.loads(text, parse_float=Decimal) == {"v": Decimal("0.12345678901234567890123"), "n": None, "i": -3}
    assert '"0.1234' not in text                       # a number, not a string



PERIOD = "2026-10"


def _code_as_digits(rows):
    return next(r["机构代码"] for r in rows if r["机构代码"].isdigit())


def test_xlsx_from_the_command_has_names_prefecture_and_codes_as_text(runner, sparse_province, tmp_path):
    from openpyxl import load_workbook
    out = tmp_path / "评级.xlsx"
    result = runner.invoke(args=["export-ratings", "--period", PERIOD, "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0 and "3 家" in result.output, result.output
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header[:9] == ["机构代码", "机构名称", "市（州）", "报告期", "综合评级", "是否暂定",
                          "收不抵支风险", "长期债务风险", "拖欠薪酬风险"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    digits = _code_as_digits(sparse_province)
    assert digits in rows and isinstance(rows[digits][0], str)          # text, not 1.25101E+17
    assert ws.cell(2, 1).number_format == "@"
    assert rows[digits][1] == "成都锦江测试医院" and rows[digits][2] == "成都市"
    assert {r[2] for r in rows.values()} == {"成都市", "乐山市"}
    assert {r[4] for r in rows.values()} <= {"红色", "黄色", "绿色", "未上报", "无法计算"}
    assert all(r[5] in ("是", "否") for r in rows.values())
    assert runner.invoke(args=["export-ratings", "--period", PERIOD, "--format", "xlsx"]).exit_code == 1


def test_csv_has_a_bom_names_and_codes_libreoffice_keeps_as_text(runner, sparse_province, tmp_path, libreoffice):
    out = tmp_path / "ratings.csv"
    result = runner.invoke(args=["export-ratings", "--period", PERIOD, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.startswith("hospital,hospital_name,prefecture,period,rating")
    assert "成都锦江测试医院" in text and "乐山市" in text
    # The real client: LibreOffice Calc opens the CSV (UTF-8, comma) and the code stays text.
    from openpyxl import load_workbook
    converted = libreoffice(out, "xlsx", infilter="CSV:44,34,76,1")
    ws = load_workbook(converted).active
    codes = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    digits = _code_as_digits(sparse_province)
    assert any(isinstance(c, str) and c.strip() == digits for c in codes), codes
    assert ws.cell(1, 2).value == "hospital_name" and "成都锦江测试医院" in [ws.cell(r, 2).value for r in range(2, 5)]


def test_web_export_holds_only_what_the_user_may_see(app, client, auth, conn, sparse_province):
    from openpyxl import load_workbook

    from etl.reference.accounts import create_user
    create_user(conn, "reviewer", "password-123", "reviewer")
    own = sparse_province[0]["机构代码"]
    create_user(conn, "hospital", "password-123", "hospital", own)
    auth.login("reviewer")
    page = client.get(f"/?period={PERIOD}").get_data(as_text=True)
    assert f"/export.xlsx?period={PERIOD}" in page and "下载本期评级" in page
    response = client.get(f"/export.xlsx?period={PERIOD}")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws.max_row == 1 + 3
    auth.logout()
    auth.login("hospital")
    ws = load_workbook(io.BytesIO(client.get(f"/export.xlsx?period={PERIOD}").data)).active
    assert [c.value for c in ws["A"][1:]] == [own]
    assert client.get("/export.xlsx?period=2026-1x").status_code == 400
