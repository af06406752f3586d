import re

from auditor.formats import markdown
from tests.ci_support import handmade_report


def parse_first_table(text):
    """A GitHub-flavoured Markdown table: header, delimiter row, body rows of equal width."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append(line)

    def cells(line):
        return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]

    header, delimiter, *rows = [cells(line) for line in block]
    assert all(re.fullmatch(r":?-{3,}:?", d) for d in delimiter)
    assert all(len(r) == len(header) for r in [delimiter, *rows])
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_summary_table_by_severity(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = markdown.render(handmade_report(tmp_path / "p"))
    rows = {r["Severity"]: r for r in parse_first_table(text)}
    assert list(rows)[:5] == ["critical", "high", "medium", "low", "info"]
    assert rows["high"]["Findings"] == "1" and rows["high"]["Failing"] == "1"
    assert rows["medium"]["Findings"] == "1" and rows["medium"]["Failing"] == "0"
    assert rows["critical"]["Findings"] == "0" and rows["critical"]["Waived"] == "1"
    assert rows["**total**"]["Findings"] == "**3**"


def test_findings_grouped_by_app_with_fix_and_passing_apps_only_counted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = markdown.render(handmade_report(tmp_path / "p"))
    assert "#### Integration_App (connected app, 2 finding(s))" in text
    assert "Fix: Add &lt;scopes&gt;RefreshToken&lt;/scopes&gt;" in text
    assert "Clean_App" not in text
    assert "1 passing app(s) not shown" in text
    assert "Waived findings (1)" in text and "SEC-42" in text
    assert "<details>" in text.split("Waived findings")[0][-40:]


def test_long_reports_collapse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = handmade_report(tmp_path / "p", fail_on="low")
    base = report.findings[0]
    from dataclasses import replace

    report.findings += [replace(base, field=f"f{i}", message=f"extra {i} | pipe") for i in range(10)]
    text = markdown.render(report)
    assert "<details><summary><b>Integration_App" in text
    assert text.count("<details>") == text.count("</details>")
    assert "extra 3 \\| pipe" in text


def test_clean_report(tmp_path):
    from auditor.model import Report

    text = markdown.render(Report(apps=[], findings=[], input_errors=[]))
    assert "no findings" in text
    assert [r["Findings"] for r in parse_first_table(text)][:5] == ["0"] * 5
