"""The one exception the course raises on purpose.

A ``CourseError`` carries a message written for a learner: what is wrong and
what to do about it, in a sentence or two, with no password in it. The
notebook helpers and ``python -m course_app`` show it without a traceback.
"""


class CourseError(RuntimeError):
    """Something the learner or instructor can fix; the message says how."""
