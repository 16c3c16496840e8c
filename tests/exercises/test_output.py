"""check(), hint(), solution() and apply() as a learner sees them."""

from course_app import lessons
from course_app.exercises import ____, lesson00, lesson03
from course_app.exercises.checks import run


def test_three_outcomes_are_printed(capsys):
    lessons.start(0)
    lesson00.current_revision.check(____)
    lesson00.current_revision.check("head")
    lesson00.current_revision.check("0005")
    lesson00.current_revision.check()
    out = capsys.readouterr().out.splitlines()
    assert out[3] == "Not attempted: pass your answer: current_revision.check(answer)."
    assert out[0].startswith("Not attempted: replace ____")
    assert out[1].startswith("Not yet: 'head' is a name Alembic understands")
    assert out[2].startswith("Correct! The database is at 0005")


def test_hints_have_levels(capsys):
    lesson03.create_posts.hint()
    lesson03.create_posts.hint(2)
    lesson03.create_posts.hint(9)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Hint 1:") and out[0].endswith("(more: .hint(2))")
    assert out[1].startswith("Hint 2:") and "more" not in out[1]
    assert out[2].startswith("Hint 2:")


def test_the_solution_is_the_reference_revision_itself(capsys):
    lesson03.create_posts.solution()
    out = capsys.readouterr().out
    assert out.startswith("# alembic/versions/0001_create_posts_table.py\ndef upgrade() -> None:")
    assert 'op.drop_table("posts")' in out


def test_apply_puts_the_reference_in_place_and_then_it_checks(capsys):
    lessons.start(3)
    run(lessons.current(), "revision", "-m", "create posts table", "--rev-id", "0001")
    lesson03.create_posts.check()
    lesson03.create_posts.apply()
    lesson03.create_posts.check()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "Not attempted: alembic/versions/0001_create_posts_table.py still has an empty"
    )
    assert out[1] == "Wrote the reference revision to alembic/versions/0001_create_posts_table.py."
    assert out[2].startswith("Moved yours aside to workspace/.backups/lesson03/")
    assert out[3].startswith("Correct!")


def test_apply_on_a_question_gives_the_answer_and_why_and_marks_it_given(capsys):
    lessons.start(0)
    lesson00.current_revision._given = None
    lesson00.current_revision.apply()
    assert capsys.readouterr().out.startswith(
        "The answer: revision_now = '0005'. The database is at 0005"
    )
    lesson00.current_revision.require()  # passes now
