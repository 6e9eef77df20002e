"""AWS DMS table mappings: what a task selects, and what CreateReplicationTask refuses."""

from __future__ import annotations

import json

import pytest

from reslab.localcloud.dms import (
    InvalidTableMappings,
    InvalidTaskSettings,
    TaskSettings,
    UnsupportedTableMapping,
    parse_table_mappings,
    schema_mappings,
)


def _rule(rule_id: str, schema: str, table: str, action: str = "include") -> dict:
    return {
        "rule-type": "selection",
        "rule-id": rule_id,
        "rule-name": f"r{rule_id}",
        "object-locator": {"schema-name": schema, "table-name": table},
        "rule-action": action,
    }


def test_the_lab_mapping_selects_hits_only():
    mappings = parse_table_mappings(schema_mappings("resiliency", ("hits",)))
    assert mappings.selects("resiliency", "hits")
    assert not mappings.selects("resiliency", "hits_old")
    assert not mappings.selects("other", "hits")


def test_percent_is_a_wildcard_and_exclude_wins():
    mappings = parse_table_mappings(
        {"rules": [_rule("1", "lab%", "%"), _rule("2", "lab_a", "secret%", "exclude")]}
    )
    assert mappings.selects("lab_a", "hits")
    assert mappings.selects("labx", "anything")
    assert not mappings.selects("lab_a", "secrets")
    assert not mappings.selects("prod", "hits")
    # "_" is not a wildcard: only "%" is
    assert not parse_table_mappings({"rules": [_rule("1", "a_c", "%")]}).selects("abc", "t")


def test_explicit_matches_one_table_and_takes_no_wildcard():
    mappings = parse_table_mappings({"rules": [_rule("1", "lab", "hits", "explicit")]})
    assert mappings.selects("lab", "hits") and not mappings.selects("lab", "hitsx")
    with pytest.raises(InvalidTableMappings, match="explicit takes no wildcard"):
        parse_table_mappings({"rules": [_rule("1", "lab", "h%", "explicit")]})


def test_table_settings_rules_are_accepted():
    settings = {"rule-type": "table-settings", "rule-id": "9", "rule-name": "parallel"}
    mappings = parse_table_mappings({"rules": [_rule("1", "lab", "%"), settings]})
    assert mappings.selects("lab", "hits")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("not json", "not valid JSON"),
        ({"rules": []}, "non-empty 'rules'"),
        ({"rules": [_rule("1", "lab", "%"), _rule("1", "lab", "x")]}, "unique"),
        ({"rules": [_rule("1", "lab", "%", "exclude")]}, "no selection rule includes"),
        ({"rules": [{**_rule("1", "lab", "%"), "rule-action": "copy"}]}, "unknown rule-action"),
        ({"rules": [{**_rule("1", "lab", "%"), "rule-type": "mystery"}]}, "unknown rule-type"),
        ({"rules": [{**_rule("1", "", "%")}]}, "needs schema-name"),
        ({"rules": [{**_rule("1", "lab", "%"), "rule-name": ""}]}, "rule-name required"),
    ],
)
def test_bad_mappings_are_refused_with_a_named_error(doc, message):
    with pytest.raises(InvalidTableMappings, match=message):
        parse_table_mappings(doc if isinstance(doc, str) else json.dumps(doc))


def test_transformation_rules_are_refused_not_silently_ignored():
    rename = {
        "rule-type": "transformation",
        "rule-id": "2",
        "rule-name": "rename",
        "rule-target": "schema",
        "object-locator": {"schema-name": "lab"},
        "rule-action": "rename",
        "value": "copy",
    }
    with pytest.raises(UnsupportedTableMapping, match="transformation"):
        parse_table_mappings({"rules": [_rule("1", "lab", "%"), rename]})


def test_task_settings():
    assert TaskSettings.parse(None) == TaskSettings("DROP_AND_CREATE", 10000)
    text = json.dumps(
        {"FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING", "CommitRate": 500}}
    )
    assert TaskSettings.parse(text) == TaskSettings("DO_NOTHING", 500)
    with pytest.raises(InvalidTaskSettings, match="TargetTablePrepMode"):
        TaskSettings.parse(json.dumps({"FullLoadSettings": {"TargetTablePrepMode": "WIPE"}}))
    with pytest.raises(InvalidTaskSettings, match="CommitRate"):
        TaskSettings.parse(json.dumps({"FullLoadSettings": {"CommitRate": 0}}))
