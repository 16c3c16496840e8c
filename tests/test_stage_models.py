"""The models of each stage, cut from one source: what the reference history builds there."""

import ast

import pytest
from alembic.script import ScriptDirectory

from course_app import models, stage_models
from course_app.exercises.checks import models_schema, reference_schema, stage_models_schema
from course_app.lessons import reference_config

REVISIONS = sorted(
    s.revision for s in ScriptDirectory.from_config(reference_config()).walk_revisions()
)


@pytest.mark.parametrize("revision", REVISIONS)
def test_the_models_at_each_revision_are_what_the_history_builds_there(revision):
    assert stage_models_schema(revision) == reference_schema(revision).without_triggers(), revision


def test_at_the_head_they_are_the_course_models_themselves():
    head = stage_models.head()
    assert stage_models_schema(head) == models_schema(models.Base.metadata)


def test_every_model_and_column_named_in_since_is_in_models_py():
    tree = ast.parse(stage_models.MODELS.read_text())
    declared = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            declared.add(node.name)
            declared.update(
                f"{node.name}.{stage_models._name(s)}" for s in node.body if stage_models._name(s)
            )
    assert set(stage_models.SINCE) | set(stage_models.CHANGED) <= declared
    assert set(stage_models.SINCE.values()) <= set(REVISIONS)
    assert {r for changes in stage_models.CHANGED.values() for r, _ in changes} <= set(REVISIONS)


def test_a_stage_file_imports_only_what_it_uses_and_compiles():
    first = stage_models.models_source("0001")
    assert "datetime" not in first and "ForeignKey" not in first and "class User" not in first
    for revision in REVISIONS:
        compile(stage_models.models_source(revision), revision, "exec")


def test_two_branches_from_one_parent_have_each_their_own_column():
    assert "slug" in stage_models.models_source("0007")
    assert "bio" not in stage_models.models_source("0007")
    assert "bio" in stage_models.models_source("0006")
    assert "slug" not in stage_models.models_source("0006")
