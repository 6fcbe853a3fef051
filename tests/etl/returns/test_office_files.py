"""Returns saved by a real office client (Debian's LibreOffice, headless) read as the person sees them."""
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from etl.returns import contract as rf
from etl.returns.blank_template import write_blank_template
from tests.factories import draft, fill_template, hospital_code, write_draft
from tests.helpers import count, ingest

SOFFICE = shutil.which("soffice") or "soffice"     # .ci/run installs libreoffice-calc-nogui
T3 = rf.SHEETS["表3"]


def convert(src: Path, fmt: str, tmp_path: Path) -> Path:
    """Open `src` in LibreOffice and save it as `fmt`, with a profile of this test's own."""
    out = tmp_path / f"lo-{fmt}"
    profile = tmp_path / f"lo-profile-{fmt}"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(out), str(src)], check=True, timeout=180, capture_output=True)
    return out / f"{src.stem}.{fmt}"


def filled(tmp_path: Path, n: int) -> Path:
    blank = write_blank_template(tmp_path / f"return-{n}.xlsx", hospital_code(n), f"测试康宁医院{n}", "2026-10")
    return fill_template(blank, draft(hospital_code(n), name=f"测试康宁医院{n}"), keep_formulas=True)


def stored(conn, code):
    values = {(r["sheet"], r["item_code"], r["column_name"]): r["amount"] for r in conn.execute(
        "SELECT sheet, item_code, column_name, amount FROM return_value WHERE hospital_code = %s", (code,))}
    rating = conn.execute("SELECT rating, deficit, debt, wages FROM rating WHERE hospital_code = %s AND period = '2026-10'",
                          (code,)).fetchone()
    return values, rating


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_a_return_saved_by_libreoffice_is_accepted_with_the_same_ratings(conn, province, tmp_path, fmt):
    original = ingest(conn, province, filled(tmp_path, 1))
    assert original.status == "accepted"
    saved = convert(filled(tmp_path, 2), fmt, tmp_path)
    result = ingest(conn, province, saved, file_name=f"医院2.{fmt}")
    assert result.status == "accepted", [(f.code, f.cell, f.message) for f in result.findings]
    assert not [f for f in result.findings if f.code == "FORMULA_COMPUTED"]     # LibreOffice stored the results
    values1, rating1 = stored(conn, hospital_code(1))
    values2, rating2 = stored(conn, hospital_code(2))
    assert len(values1) > 50 and values2 == values1
    assert rating1 is not None and dict(rating2) == dict(rating1)


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_an_error_value_in_an_amount_cell_is_refused_naming_the_cell(conn, province, tmp_path, fmt):
    path = write_draft(tmp_path, draft(hospital_code(1)), "err.xlsx")
    wb = load_workbook(path)
    wb[T3]["C5"] = '="拖欠"+1'          # 期末累计拖欠薪酬: LibreOffice shows #VALUE!
    wb[T3]["C4"] = "=C3/0"              # 本月实发薪酬: #DIV/0!
    wb.save(path)
    result = ingest(conn, province, convert(path, fmt, tmp_path))
    assert result.status == "rejected"
    errors = {(f.sheet, f.cell): f.message for f in result.findings if f.code == "CELL_ERROR"}
    assert "单元格显示错误值 #VALUE!，请修正公式" in errors[(T3, "C5")]
    assert "#DIV/0!" in errors[(T3, "C4")]
    assert count(conn, "return") == 0
