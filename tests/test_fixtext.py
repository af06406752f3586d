"""A rule's fix text split by kind of app: one splitter for every report and for `ca-audit fix`."""

import re

import pytest
import yaml

from auditor.fixtext import fix_for_kind, kind_part, split_fix
from tests.conftest import REPO

RULES = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in (REPO / "rules").glob("CA-*.yaml")}
KINDS = ("connected_app", "external_client_app")


def whole(rule_id: str) -> str:
    return " ".join(RULES[rule_id]["fix"].split())


def test_a_two_kind_text_keeps_the_shared_advice_with_either_kind():
    connected, external = (fix_for_kind(whole("CA-23"), kind) for kind in KINDS)
    for text in (connected, external):
        assert text.startswith("Rotate the secret now, then remove it.")
        assert "purge it from the git history" in text
    assert "Manage Consumer Details" in connected and "shouldRotateConsumerSecret" not in connected
    assert "shouldRotateConsumerSecret" in external and "Manage Consumer Details" not in external


def test_the_last_kind_part_ends_at_its_first_sentence_outside_code():
    text = "Do it. Connected app: Setup → A; in source `<a>x. Y</a>`. External client app: Setup → B; in source " \
           "`b. C`. Allow a few minutes."
    parts = split_fix(text)
    assert parts is not None
    assert parts.by_kind["external_client_app"] == "External client app: Setup → B; in source `b. C`."
    assert parts.shared_after == "Allow a few minutes."
    assert kind_part(text, "connected_app") == "Setup → A; in source `<a>x. Y</a>`."


@pytest.mark.parametrize("rule_id", ["CA-07", "CA-19", "CA-10"])
def test_texts_not_split_clearly_by_kind_are_used_whole(rule_id):
    # two external-client-app passages (CA-07), mentions inside parentheses (CA-19), or none (CA-10)
    assert split_fix(whole(rule_id)) is None
    for kind in KINDS:
        assert fix_for_kind(RULES[rule_id]["fix"], kind) == whole(rule_id)
        assert kind_part(RULES[rule_id]["fix"], kind) == whole(rule_id)


def test_markers_out_of_order_or_inside_a_sentence_do_not_split():
    assert split_fix("External client app: b. Connected app: a.") is None
    assert split_fix("Use the Connected app: a. External client app: b.") is None


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_every_sentence_of_a_split_rule_text_stays_in_one_of_the_kinds_versions(rule_id):
    parts = [fix_for_kind(whole(rule_id), kind) for kind in KINDS]
    for sentence in re.split(r"(?<=\.)\s+(?=[A-Z])", whole(rule_id)):
        assert any(sentence in part for part in parts), sentence
    if split_fix(whole(rule_id)) is not None:  # and each kind's version leaves out the other kind's part
        assert "External client app:" not in parts[0] and "Connected app:" not in parts[1]
