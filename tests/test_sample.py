"""The worked example of shared/samples: load the three files, export exactly the expected JSON."""
import json
from decimal import Decimal
from pathlib import Path

import pytest

from etl.ratings import indicators

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"

pytestmark = pytest.mark.skipif(not SAMPLES.exists(), reason="shared/samples not beside the repo")


def test_sample_export_matches_expected(runner):
    for args in (["load-hospitals", str(SAMPLES / "registry.xlsx")],
                 ["load-mapping", str(SAMPLES / "mapping.xlsx"), "--version", "sample", "--effective", "2026-01"],
                 ["import-returns", "--json", str(SAMPLES / "return-2026-10.xlsx")]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["status"] == "accepted" and line["version"] == 1 and line["findings"] == []

    result = runner.invoke(args=["export-ratings", "--period", "2026-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output, parse_float=Decimal)
    expected = json.loads((SAMPLES / "expected-ratings-2026-10.json").read_text(), parse_float=Decimal)
    assert len(got) == len(expected) == 1
    g, e = got[0], expected[0]
    assert {k: g[k] for k in ("hospital", "period", "rating", "provisional", "domains")} == \
           {k: e[k] for k in ("hospital", "period", "rating", "provisional", "domains")}
    # The sample predates indicators added to the registry since: those are exported too.
    assert set(e["indicators"]) <= set(g["indicators"]) == set(indicators.IDS)
    for name, value in e["indicators"].items():
        assert round(Decimal(g["indicators"][name]), 6) == round(value, 6), name
