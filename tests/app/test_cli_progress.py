"""`make run` on a machine without a terminal still shows how far the demo build is."""
from app.cli import _progress_lines


def test_progress_lines_report_every_tenth_with_an_estimate(capsys):
    report = _progress_lines()
    for done in range(1, 3262):
        report(done, 3261)
    lines = capsys.readouterr().err.strip().splitlines()
    assert 10 <= len(lines) <= 11
    assert lines[-1].startswith("  演示报表 3261/3261（100%）")
    assert all("预计还需" in line for line in lines)
