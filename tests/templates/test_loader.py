"""reslab.templates (the YAML loader, template lookups) and reslab_lambda.stacks (the stack
table's one reader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reslab.templates import (
    TemplateError,
    load_template,
    loads_template,
    template_body,
    template_path,
)
from reslab_lambda.stacks import StackTableError, read_table, spec_for


def test_short_tags_become_long_form() -> None:
    template = loads_template(
        "Conditions:\n"
        "  C: !Equals [!Ref P, x]\n"
        "Resources:\n"
        "  R:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      A: !GetAtt Db.Endpoint.Address\n"
        "      B: !Sub '${AWS::StackName}-x'\n"
        "      C: !If [C, !Select [0, !GetAZs ''], !Ref AWS::NoValue]\n"
        "      D: !Base64 {'Fn::Sub': 'y'}\n"
        "      E: !GetAtt [Db, Arn]\n"
    )
    props = template["Resources"]["R"]["Properties"]
    assert props["A"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert props["B"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert props["C"] == {
        "Fn::If": ["C", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}, {"Ref": "AWS::NoValue"}]
    }
    assert props["D"] == {"Fn::Base64": {"Fn::Sub": "y"}}
    assert props["E"] == {"Fn::GetAtt": ["Db", "Arn"]}
    assert template["Conditions"]["C"] == {"Fn::Equals": [{"Ref": "P"}, "x"]}


def test_not_a_template_is_refused() -> None:
    with pytest.raises(TemplateError, match="no Resources"):
        loads_template("just: data\n")
    with pytest.raises(TemplateError, match="no template"):
        template_path("nosuch")


def test_template_lookup_by_key_file_or_path() -> None:
    by_name = load_template("vpc")
    assert load_template("vpc.yaml") == by_name
    assert load_template(template_path("vpc")) == by_name
    assert json.loads(template_body("vpc")) == by_name


def test_stack_table_rejects_dependency_out_of_order(tmp_path: Path) -> None:
    table = tmp_path / "stacks.json"
    row = {"suffix": "X", "template": "vpc.yaml", "region": "primary"}

    def write(rows: list[dict]) -> None:
        table.write_text(json.dumps({"default_stack_prefix": "P", "stacks": rows}))

    write([{**row, "key": "a", "depends_on": ["b"]}, {**row, "key": "b"}])
    with pytest.raises(StackTableError, match="depends on"):
        read_table(table)
    write([{**row, "key": "a", "region": "tertiary"}])
    with pytest.raises(StackTableError, match="primary or secondary"):
        read_table(table)
    write([{**row, "key": "a"}, {**row, "key": "a"}])
    with pytest.raises(StackTableError, match="listed twice"):
        read_table(table)
    table.write_text("{not json")
    with pytest.raises(StackTableError, match="cannot read"):
        read_table(table)


def test_stack_spec_lookup() -> None:
    assert spec_for("web").depends_on == ("vpc", "database", "storage")
    with pytest.raises(KeyError, match="unknown stack key 'nope'"):
        spec_for("nope")
