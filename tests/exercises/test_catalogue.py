"""The catalogue itself: every exercise has enough wrong answers, right alternatives,
and its reference, and the lessons declare as many exercises as the README says."""

import importlib
import re

import pytest

from course_app.exercises import Exercise
from course_app.lessons import STAGES
from course_app.settings import PROJECT_ROOT

LESSONS = sorted(STAGES)


def _exercises(number):
    module = importlib.import_module(f"course_app.exercises.lesson{number:02d}")
    return [v for v in vars(module).values() if isinstance(v, Exercise)]


def _cases(number):
    return importlib.import_module(f"tests.exercises.test_lesson{number:02d}").CASES


@pytest.mark.parametrize("number", LESSONS)
def test_every_exercise_has_four_mistakes_its_reference_and_right_alternatives(number):
    cases = _cases(number)
    for exercise in _exercises(number):
        mine = [c for c in cases if c.exercise is exercise]
        kinds = [c.kind for c in mine]
        assert kinds.count("wrong") >= 4, f"{exercise.name}: {kinds.count('wrong')} mistakes"
        assert kinds.count("reference") == 1, f"{exercise.name}: no reference answer"
        wanted = 2 if exercise.kind == "revision" else 1
        assert kinds.count("right") >= wanted, f"{exercise.name}: too few right alternatives"


def test_the_catalogue_is_large_and_the_readme_counts_the_exercises():
    mistakes = sum(c.kind == "wrong" for n in LESSONS for c in _cases(n))
    assert mistakes >= 108, mistakes
    exercises = sum(len(_exercises(n)) for n in LESSONS)
    said = re.search(r"(\d+) exercises", (PROJECT_ROOT / "README.md").read_text())
    assert said and int(said[1]) == exercises, (said and said[0], exercises)
