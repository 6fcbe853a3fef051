"""Every action the code records has a Chinese name (the audit log page shows names, not codes)."""
import re
from pathlib import Path

from etl.common.audit import ACTION_NAMES, action_name

ROOT = Path(__file__).resolve().parents[3]
# An action code is a quoted "area.verb" string; file names ("bulletin.pdf") are not actions.
# Endpoint names passed to url_for ("forecast.index") look alike and are skipped.
ACTION = re.compile(r"""(?<!url_for\()["']([a-z]+\.[a-z_]+)["']""")
FILE_SUFFIXES = {"pdf", "docx", "xlsx", "xls", "csv", "png", "json", "html", "yaml", "txt", "sql", "py", "ods",
                 "et", "xlsm", "zip", "svg", "js", "css", "geojson"}
RECORD = re.compile(r"\brecord\(")


def recorded_actions() -> set[str]:
    """Action codes in the sources: literals inside record(...) calls, and literals of the same
    areas passed on to a function that records them (set_password(..., "user.password_reset"))."""
    table = ROOT / "etl" / "common" / "audit.py"           # the names themselves prove nothing
    sources = [p for d in ("app", "etl", "reports") for p in (ROOT / d).rglob("*.py") if p != table]
    direct, loose = set(), set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for m in RECORD.finditer(text):
            direct.update(ACTION.findall(text[m.end():m.end() + 300].split("\n\n")[0]))
        loose.update(ACTION.findall(text))
    areas = {code.split(".")[0] for code in direct}
    return {c for c in direct | loose if c.split(".")[0] in areas and c.split(".")[1] not in FILE_SUFFIXES}


def test_every_recorded_action_has_a_chinese_name():
    codes = recorded_actions()
    assert {"login.success", "user.password_reset", "period.unlock", "return.return_for_revision"} <= codes
    missing = sorted(c for c in codes if c not in ACTION_NAMES)
    assert missing == [], f"add Chinese names to etl.common.audit.ACTION_NAMES for {missing}"


def test_names_are_chinese_and_unique():
    for code, name in ACTION_NAMES.items():
        assert not re.search(r"[A-Za-z]", name), (code, name)
    assert len(set(ACTION_NAMES.values())) == len(ACTION_NAMES)
    assert action_name("login.failure") == "登录失败"
