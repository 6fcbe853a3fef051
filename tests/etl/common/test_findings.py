"""Every finding code a user can meet has a Chinese rule name."""
import re
from pathlib import Path

import config
from etl.common.findings import RULE_NAMES, UNKNOWN_RULE, rule_name

ROOT = Path(__file__).resolve().parents[3]
CODE = re.compile(r"""["']([A-Z][A-Z0-9]*_[A-Z0-9_]+)["']""")
# UPPER_SNAKE literals in those sources that are not finding codes: settings and label tables.
NOT_CODES = {name for name in vars(config.Base) if name.isupper()} | {"STATUS_LABELS", "SEVERITY_LABELS"}


def raised_codes() -> set[str]:
    """Every UPPER_SNAKE string literal in etl/returns and app/returns.py, settings aside."""
    sources = [*(ROOT / "etl" / "returns").glob("*.py"), ROOT / "app" / "returns.py"]
    found = set()
    for path in sources:
        found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found - NOT_CODES


def test_every_raised_code_has_a_chinese_name():
    codes = raised_codes()
    assert len(codes) > 60, codes          # the scan finds the codes, not nothing
    missing = sorted(c for c in codes if c not in RULE_NAMES)
    assert not missing, missing


def test_names_are_chinese_and_tell_rules_apart():
    for code, name in RULE_NAMES.items():
        assert not re.search(r"[A-Za-z]", name), (code, name)
    assert len(set(RULE_NAMES.values())) == len(RULE_NAMES)   # the workbook shows only the name
    assert rule_name("NO_SUCH_RULE") == UNKNOWN_RULE
