"""On a class server, a learner's next lesson database, copied before it is needed.

Copying a template is quick for one learner, but thirty who start a lesson at the same
moment all copy at once, and each waits for the others (``bench/classroom.py``: a 95th
percentile of 2 to 5 s on 2 cores). So on a class server the copy is made ahead:
``classroom setup`` makes each learner's copy of the class's first lesson, and each lesson
start makes, in the background, the copy of the next one. Starting a lesson is then a
rename.

A ready copy is named ``<the lesson's database>_ready``, belongs to the learner like
their other databases (``database.create``), and carries as its comment the name of the
template it was copied from, written last. A copy of another template (the course changed
since), or one whose maker was stopped half-way (no comment), is dropped and the lesson
copied from its template as before.
"""

import threading
import time

from course_app import database

SUFFIX = "_ready"
PAUSE = 10  # seconds after a start before copying the next lesson (see below)


def _make(name: str, template: str) -> None:
    ready = name + SUFFIX
    if database.comment(ready) != template:
        database.recreate(ready, template=template)
        database.set_comment(ready, template)  # last: the mark of a finished copy


def take(name: str, template: str) -> bool:
    """Replace database ``name`` with its ready copy, if there is a finished one of
    ``template``; False (and any other copy dropped) if not. The caller holds the lock."""
    ready = name + SUFFIX
    if database.comment(ready) != template:
        database.drop(ready)
        return False
    database.drop(name)
    database.rename(ready, name)
    return True


def prepare_lesson(number: int) -> None:
    """Make the ready copies of lesson ``number``'s databases (a lesson on testing has two),
    under the lesson's lock: a start of that lesson waits for them, then takes them.
    ``classroom setup`` runs it as each learner, in a process with their settings."""
    from course_app import lessons  # which imports this module: it starts lessons with it

    databases = lessons.lesson_databases(number)
    with database.lock(databases[0][0]):
        for name, template in databases:
            _make(name, template)


def prepare_in_background(number: int) -> threading.Thread:
    """Make lesson ``number``'s ready copies while the learner works, after a pause: a class
    told to start a lesson starts it within a few seconds, and copying then would slow down
    everyone's start. A failure only means that the next start copies the templates as
    before (and then says what is wrong), so it is kept quiet here. A daemon thread: a
    process that ends does not wait for it; a copy it leaves half-made has no comment."""

    def run() -> None:
        time.sleep(PAUSE)
        try:
            prepare_lesson(number)
        except Exception:  # noqa: BLE001 - see above: the next start reports it
            pass

    thread = threading.Thread(target=run, name=f"lesson {number}'s ready copies", daemon=True)
    thread.start()
    return thread
