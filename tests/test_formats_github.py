import re

from auditor.formats import github
from tests.ci_support import handmade_report


def test_escaping_matches_the_actions_toolkit():
    assert github.escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert github.escape_property("a,b: 50%\n") == "a%2Cb%3A 50%25%0A"
    assert github.escape_data("a,b: c") == "a,b: c"  # only properties escape , and :


def test_command_shape():
    line = github.command("error", "msg: x, y", file="a,b.xml", line=3, col=None, title="T: 1")
    assert line == "::error file=a%2Cb.xml,line=3,title=T%3A 1::msg: x, y"


COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def parse(line):
    match = COMMAND.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(2).split(",")) if match.group(2) else {}
    return match.group(1), props, match.group(3)


def test_annotations_for_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = github.render(handmade_report(tmp_path / "p")).splitlines()
    commands = [parse(line) for line in lines if line.startswith("::")]
    assert len(commands) == 4
    levels = {props["title"].split(" ")[0]: level for level, props, _ in commands}
    assert levels == {"CA-01": "error", "CA-07": "warning", "CA-20": "notice", "CA-30": "notice"}
    for _, props, message in commands:
        assert "\n" not in message and "\r" not in message
        assert props["file"].startswith("p/force-app/main/default/connectedApps/")
        assert int(props["line"]) >= 1
    legacy = next(c for c in commands if c[1]["title"].startswith("CA-20"))
    assert legacy[1]["file"].endswith("Legacy%2C App%3A 100%25.connectedApp-meta.xml")
    assert legacy[2].startswith("Legacy, App: 100%25 has a cert:%0Aline two")
    waived = next(c for c in commands if c[1]["title"].startswith("CA-30"))
    assert "[waived]" in waived[1]["title"] and "Waived: vendor cannot rotate" in waived[2]
    assert lines[-1].startswith("ca-audit: 3 app(s), 3 finding(s), 1 at or above high, 1 waived")
