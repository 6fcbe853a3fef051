"""Hostile workbooks are refused before any parser sees them: quickly, cheaply, in Chinese."""
from __future__ import annotations

import re
import resource
import time
import zipfile
from pathlib import Path

import pytest

from etl.reference import registry
from etl.returns import intake
from etl.returns.limits import MAX_ITEM_ROWS, MAX_SHARED_STRINGS
from etl.returns.reader import FileRejected, check_file
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

CODE = hospital_code(1)


def _rewrite(src: Path, dst: Path, change) -> Path:
    """Copy the xlsx at `src` to `dst`, passing each member's bytes through change(name, data)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))
    return dst


def _sheet_member(path: Path, prefix: str) -> str:
    with zipfile.ZipFile(path) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{prefix}[^"]*"[^>]*r:id="([^"]+)"', workbook).group(1)
    target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels)
    target = target.group(1) or target.group(2)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _add_cell(path: Path, dst: Path, prefix: str, ref: str) -> Path:
    member = _sheet_member(path, prefix)
    row = re.match(r"[A-Z]+([0-9]+)", ref).group(1)

    def change(name, data):
        if name != member:
            return data
        return data.replace(b"</sheetData>",
                            f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'.encode())
    return _rewrite(path, dst, change)


@pytest.fixture()
def good(tmp_path) -> Path:
    return write_draft(tmp_path, draft(CODE))


def _refused_quickly(path: Path, code: str) -> FileRejected:
    started, rss = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(FileRejected) as err:
        check_file(path, 30 << 20, 400 << 20)
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 500 * 1024   # KiB
    assert err.value.code == code
    assert re.search(r"[\u4e00-\u9fff]", err.value.message)
    return err.value


@pytest.mark.parametrize("ref", ["XFD1048576", "XFD2000", "BA10"])
def test_a_far_column_is_refused(good, tmp_path, ref):
    err = _refused_quickly(_add_cell(good, tmp_path / "far.xlsx", "表5", ref), "SHEET_TOO_WIDE")
    assert "表5" in err.message


def test_a_far_row_is_refused_in_any_sheet(good, tmp_path):
    _refused_quickly(_add_cell(good, tmp_path / "deep5.xlsx", "表5", f"A{MAX_ITEM_ROWS + 1}"), "SHEET_TOO_LONG")
    _refused_quickly(_add_cell(good, tmp_path / "deep1.xlsx", "表1", "A5001"), "SHEET_TOO_LONG")
    # Neither a leading zero nor a line break before the attribute hides the reference.
    _refused_quickly(_add_cell(good, tmp_path / "zero.xlsx", "表1", "A0005001"), "SHEET_TOO_LONG")
    path = _rewrite(_add_cell(good, tmp_path / "wide.xlsx", "表1", "ZZ1"), tmp_path / "newline.xlsx",
                    lambda name, data: data.replace(b'<c r="ZZ1"', b'<c\nr="ZZ1"'))
    _refused_quickly(path, "SHEET_TOO_WIDE")


def test_the_largest_legal_extent_passes(good, tmp_path):
    check_file(_add_cell(good, tmp_path / "edge.xlsx", "表5", f"AZ{MAX_ITEM_ROWS}"), 30 << 20, 400 << 20)
    check_file(_add_cell(good, tmp_path / "edge1.xlsx", "表1", "AZ5000"), 30 << 20, 400 << 20)


def test_a_million_rows_are_refused(good, tmp_path):
    member = _sheet_member(good, "表5")
    rows = b"".join(b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' for _ in range(1_048_576))

    def change(name, data):
        return data.replace(b"</sheetData>", rows + b"</sheetData>") if name == member else data
    path = _rewrite(good, tmp_path / "million.xlsx", change)
    assert path.stat().st_size < 2 << 20
    _refused_quickly(path, "SHEET_TOO_LONG")


def test_a_shared_strings_bomb_is_refused(good, tmp_path):
    bomb = b"".join([b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
                     b"<si><t>a</t></si>" * (MAX_SHARED_STRINGS * 2), b"</sst>"])

    def change(name, data):
        return bomb if name == "xl/sharedStrings.xml" else data
    with zipfile.ZipFile(good) as zf:
        has_strings = "xl/sharedStrings.xml" in zf.namelist()
    path = _rewrite(good, tmp_path / "bomb.xlsx", change)
    if not has_strings:
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("xl/sharedStrings.xml", bomb)
    _refused_quickly(path, "TOO_MANY_STRINGS")


def test_an_entity_declaration_is_a_finding_not_a_traceback(good, tmp_path):
    def change(name, data):
        if name == "xl/workbook.xml":
            body = re.sub(rb"^<\?xml[^>]*\?>", b"", data)
            return b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + body.replace(b'name="', b'name="&a;', 1)
        return data
    _refused_quickly(_rewrite(good, tmp_path / "dtd.xlsx", change), "FILE_CORRUPT")


def test_intake_refuses_with_a_finding_and_stores_nothing(app, conn, good, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1)]))
    result = intake.ingest_file(conn, _add_cell(good, tmp_path / "far.xlsx", "表5", "XFD1048576"),
                                intake.IntakeSettings.from_config(app.config))
    assert result.status == "rejected"
    assert [f.code for f in result.findings] == ["SHEET_TOO_WIDE"]
    assert conn.execute("SELECT count(*) AS n FROM return").fetchone()["n"] == 0


def test_the_web_and_the_command_line_refuse_it_too(app, conn, client, auth, runner, good, tmp_path):
    """The same far cell through the upload form (a hospital user) and `import-returns`."""
    import io

    from etl.reference.accounts import create_user
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1)]))
    create_user(conn, "hosp", "password-123", "hospital", CODE)
    far = _add_cell(good, tmp_path / "far.xlsx", "表5", "XFD1048576")
    auth.login("hosp")
    response = client.post("/returns/upload", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(far.read_bytes()), "far.xlsx"), "csrf_token": auth.csrf("/returns/")})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "超出第 52 列" in page or "AZ 列" in page
    result = runner.invoke(args=["import-returns", str(far)])
    assert result.exit_code == 1 and "AZ 列" in result.output
    assert conn.execute("SELECT count(*) AS n FROM return").fetchone()["n"] == 0
