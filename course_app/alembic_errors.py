"""Alembic's errors, in the course's words.

Alembic's messages are exact but point at the wrong place for a learner: a typo in
a ``down_revision`` surfaces as ``alembic/env.py, line 45 ... KeyError: '002'``, a
file the learner never touched. ``explain()`` takes Alembic's (or PostgreSQL's)
line and the workspace it came from, and returns one or two sentences naming the
learner's own file and line and the fix. ``%alembic`` prints it under Alembic's
own line; the exercise checks use it in their messages.

The model is pytest-alembic's and strong_migrations' failure texts: what is wrong,
why it matters, what to do instead.
"""

import re
from collections.abc import Callable
from pathlib import Path

from course_app.history import History


def explain(
    failure: str,
    workspace: Path,
    version: Callable[[], str | None] | None = None,
    diffs: list | None = None,
) -> str | None:
    """The course's explanation of one Alembic failure line, or None if it has none.

    ``version``, if given, reads what ``alembic_version`` holds (for "not up to date"
    and "can't locate revision"); ``diffs`` are what a failed `alembic check` found.
    """
    if diffs:
        said = [describe_diff(d) for d in diffs]
        more = f" (and {len(said) - 2} more)" if len(said) > 2 else ""
        return (
            "The models and the database differ: " + " ".join(said[:2]) + more + " Write a "
            "revision for it (revision --autogenerate), or, if the database is behind, run "
            "%alembic upgrade head."
        )
    history = History(workspace)

    def at() -> str | None:
        try:
            return version() if version else None
        except Exception:  # the database may be what failed
            return None

    for pattern, explainer in _RULES:
        match = re.search(pattern, failure, re.S)
        if match:
            said = explainer(match, history, at)
            if said:
                return said
    return None


def _sql_type(type_) -> str:
    from sqlalchemy.dialects import postgresql

    try:
        return type_.compile(dialect=postgresql.dialect())
    except Exception:  # noqa: BLE001  (a type PostgreSQL cannot spell: its Python name)
        return repr(type_)


def describe_diff(diff) -> str:
    """One of Alembic's autogenerate differences, in words ("modify_type" never shows)."""
    if isinstance(diff, list):  # column changes come grouped
        return " ".join(describe_diff(d) for d in diff)
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        where = (
            ("the models", "the database")
            if kind == "add_table"
            else ("the database", "the models")
        )
        return f"table {diff[1].name} is in {where[0]}, not in {where[1]}."
    if kind in ("add_column", "remove_column"):
        where = (
            ("the models", "the database")
            if kind == "add_column"
            else ("the database", "the models")
        )
        return f"column {diff[2]}.{diff[3].name} is in {where[0]}, not in {where[1]}."
    if kind.startswith("modify_"):
        table, column, old, new = diff[2], diff[3], diff[5], diff[6]
        if kind == "modify_type":
            old, new = _sql_type(old), _sql_type(new)
        elif kind == "modify_nullable":
            old, new = ("nullable" if v else "NOT NULL" for v in (old, new))
        elif kind == "modify_default":
            old, new = (
                f"default {getattr(getattr(v, 'arg', v), 'text', v)}"
                if v is not None
                else "no default"
                for v in (old, new)
            )
        return f"{table}.{column}: {new} in the models, {old} in the database."
    thing = diff[1]
    name = getattr(thing, "name", None) or "(unnamed)"
    table = getattr(getattr(thing, "table", None), "name", "?")
    what = re.sub(r"(?<!^)([A-Z])", r" \1", type(thing).__name__).lower()  # "unique constraint"
    where = (
        ("the models", "the database") if kind.startswith("add") else ("the database", "the models")
    )
    return f"{what} {name} on {table} is in {where[0]}, not in {where[1]}."


def sentence(text: str) -> str:
    """Capitalise a message's first word, unless it is a name ("alembic/versions/...", "posts.id")."""
    first = text.split(" ", 1)[0].rstrip(",.:;")
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


def _problem(history: History, *kinds: str) -> str | None:
    """The first problem of these kinds in the workspace's history, as a sentence."""
    for problem in history.problems():
        if problem.kind in kinds:
            return sentence(problem.message)
    return None


def _missing_function(match, history, version):
    module, function = match[1], match[2]
    for script in history.scripts:
        if (
            module in (script.path.stem + "_py", script.path.stem)
            and function not in script.functions
        ):
            return (
                f"{script.name} has no {function}(): Alembic cannot run it. Add "
                f"`def {function}() -> None:` that "
                f"{'makes the change' if function == 'upgrade' else 'undoes upgrade()'}."
            )
    return _problem(history, "no_function")


def _dangling(match, history, version):
    return _problem(history, "dangling") or _problem(history, "syntax", "not_revision")


def _loop(match, history, version):
    return _problem(history, "loop")


def _heads(match, history, version):
    return _problem(history, "heads") or _problem(history, "dangling", "loop", "duplicate")


def _not_a_revision(match, history, version):
    return _problem(history, "not_revision", "syntax")


def _not_up_to_date(match, history, version):
    at = version()
    chain = history.chain()
    if not chain:
        return _problem(history, "heads", "dangling", "loop")
    pending = chain[chain.index(at) + 1 :] if at in chain else chain
    if not pending:
        return None
    files = ", ".join(history.file(r) for r in pending)
    return (
        f"The database is at {at or 'base'}, and {', '.join(pending)} "
        f"({files}) {'is' if len(pending) == 1 else 'are'} not applied yet. Run %alembic "
        f"upgrade head first (or delete the file, if you made it by mistake)."
    )


def _cannot_locate(match, history, version):
    missing = match[1]
    at = version()
    if at == missing or (at and missing in at.split(",")):
        return (
            f"alembic_version says the database is at {missing}, but no file in "
            f"alembic/versions/ has revision {missing} (deleted, renamed, or its "
            f"`revision` changed?). Put the file back, or, if the tables match another "
            f"revision, record that one: %alembic stamp --purge <revision>."
        )
    known = ", ".join(history.chain() or sorted(history.by_id)) or "none yet"
    return (
        f"There is no revision {missing!r} in alembic/versions/ (revisions there: {known}). "
        f"Check the id with %alembic history."
    )


def _not_null(match, history, version):
    column, table = match[1], match[2]
    return (
        f"{table} already has rows, and the new NOT NULL column {table}.{column} has no value "
        f"for them. Give it a server_default, or add it nullable, fill it with "
        f'op.execute("UPDATE {table} SET {column} = ..."), then '
        f'op.alter_column("{table}", "{column}", nullable=False).'
    )


def _already_exists(match, history, version):
    kind, part, table = match[1], match[2], match[3]
    name = f"the {kind} {table}.{part}" if kind else table
    if not kind and table.startswith("ix_"):  # the naming convention's index names
        return (
            f"The database already has the index {table}. If a concurrent build of it was "
            f"stopped half-way, it is INVALID (pg_index.indisvalid): have the revision drop "
            f"it first, DROP INDEX CONCURRENTLY IF EXISTS {table} (lesson 13). If it is valid, "
            f"it was made outside this history: compare %alembic current with the database."
        )
    return (
        f"The database already has {name}, so this revision cannot create it: it was made "
        f"outside this history (create_all?), or alembic_version was changed without running "
        f"the revisions (stamp?). Compare %alembic current with the tables, then stamp the "
        f"revision the tables really match."
    )


def _does_not_exist(match, history, version):
    what = match[0].split(" does not exist")[0]
    return (
        f"The database has no {what.replace('relation', 'table')}: the revision names the "
        f"wrong one, or alembic_version does not match the tables (a stamp?). Compare "
        f"%alembic current with the tables."
    )


def _relative(match, history, version):
    at = version()
    return (
        f"The database is at {at or 'base'}: there are not that many revisions to step over "
        f"in that direction. Run %alembic current and %alembic history, then give a revision id."
    )


def _not_downgrade_target(match, history, version):
    at = version()
    return (
        f"{match[1]} is not below where the database is ({at or 'base'}): a downgrade only goes "
        f"back. To go forward, use %alembic upgrade {match[1]}."
    )


def _splice(match, history, version):
    return (
        f"{match[1]} already has a revision after it, so a new revision based on it would "
        f"start a second head. Base the new revision on the head (leave out --head), or see "
        f"%alembic heads."
    )


_RULES: list[tuple[str, Callable]] = [
    (r"module '([^']+)' has no attribute '(upgrade|downgrade)'", _missing_function),
    (r"Revision (\S+) referenced from .* is not present|KeyError: '([^']*)'", _dangling),
    (r"Cycle is detected|Self-loop is detected|Dependency resolution failed", _loop),
    (r"Multiple head revisions are present|Multiple heads are present", _heads),
    (r"Could not determine revision id from filename", _not_a_revision),
    (r"Target database is not up to date", _not_up_to_date),
    (r"Can't locate revision identified by '([^']*)'", _cannot_locate),
    (r'column "([^"]+)" of relation "([^"]+)" contains null values', _not_null),
    (
        r'(?:(column|constraint) "([^"]+)" of )?relation "([^"]+)" already exists',
        _already_exists,
    ),
    (
        r'(column "[^"]+" of relation "[^"]+"|relation "[^"]+"|constraint "[^"]+" of relation '
        r'"[^"]+"|index "[^"]+") does not exist',
        _does_not_exist,
    ),
    (
        r"(CREATE|DROP) INDEX CONCURRENTLY cannot run inside a transaction block",
        lambda m, h, v: (
            f"Alembic runs each migration in a transaction, and {m[1]} INDEX CONCURRENTLY cannot "
            f"run in one: put the call inside `with op.get_context().autocommit_block():`, "
            f"which commits first and runs it on its own (lesson 13)."
        ),
    ),
    (
        r'unsafe use of new value "([^"]+)" of enum type (\w+)',
        lambda m, h, v: (
            f"The value {m[1]} was added to {m[2]} in this same transaction, and PostgreSQL "
            f"lets no one use it before that commits (Alembic runs all the revisions of one "
            f"upgrade in one transaction): run the ALTER TYPE ... ADD VALUE in "
            f"`with op.get_context().autocommit_block():` (lesson 15)."
        ),
    ),
    (r"Relative revision \S+ didn't produce \d+ migrations", _relative),
    (r"Destination (\S+) is not a valid downgrade target", _not_downgrade_target),
    (r"Revision (\S+) is not a head revision; please specify --splice", _splice),
    (
        r"Directory (\S+) already exists and is not empty",
        lambda m, h, v: (
            f"{Path(m[1]).name}/ exists already (init ran before). Keep it, or "
            f"delete {Path(m[1]).name}/ and alembic.ini to start over."
        ),
    ),
    (
        r"No module named 'app'",
        lambda m, h, v: (
            "Python cannot find the app package: run alembic in the project folder "
            "(where alembic.ini is), and keep `prepend_sys_path = .` in alembic.ini."
        ),
    ),
    (
        r"No module named 'psycopg'",
        lambda m, h, v: (
            "In SQLAlchemy 2.1, postgresql:// means the psycopg 3 driver, which is "
            "not installed: write postgresql+psycopg2:// in the URL."
        ),
    ),
    (
        r"invalid interpolation syntax|InterpolationSyntaxError",
        lambda m, h, v: (
            "alembic.ini's ConfigParser reads % as an interpolation, and the URL has "
            'one (a URL-encoded character): pass settings.database_url.replace("%", "%%").'
        ),
    ),
    (
        r"Can't load plugin: sqlalchemy\.dialects:driver",
        lambda m, h, v: (
            "env.py still uses alembic.ini's placeholder URL (driver://...): set "
            "sqlalchemy.url from the app's settings in env.py."
        ),
    ),
    (
        r"does not provide a MetaData object",
        lambda m, h, v: (
            "target_metadata is None in alembic/env.py, so autogenerate has nothing "
            "to compare: `from app.models import Base`, then `target_metadata = Base.metadata`."
        ),
    ),
]
