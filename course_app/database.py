"""The course's databases, and the rules that keep everyone else's safe.

The server is either the learner's own (``DATABASE_URL``) or the embedded one.
On it the course only ever creates databases whose names start with
``alembic_course_``, and it refuses to drop or rebuild any other: pointed at a
server that holds real data, it cannot lose any of it. When learners share a server
(a class), each one's databases also carry a tag of their own (``own``), and every
database the course creates is closed to everyone but its owner (``create``).

Connection failures become one-sentence ``CourseError``s that say what to fix
(unreachable host, refused password, missing database); URLs are only shown
with the password masked.
"""

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool, QueuePool

from course_app import server
from course_app.errors import CourseError
from course_app.settings import get_settings

PREFIX = "alembic_course_"
_NAME = re.compile(r"[a-z0-9_]+")
NAME_LIMIT = 63  # bytes: PostgreSQL cuts longer names short, and two could become one


def learner_tag(learner: str | None = None) -> str:
    """'' for a learner alone on their server; else ``<up to 6 letters>_<8 hex>_``, the
    same for the same name, and different for names that differ anywhere (``ada.l``,
    ``ada-l``, ``Ada_L``, or two long names that agree on their first 63 bytes): the hash is
    of the whole name. Short, so that a lesson's scratch copies stay within 63 bytes."""
    learner = learner if learner is not None else get_settings().learner
    if not learner:
        return ""
    letters = re.sub(r"[^a-z0-9]+", "", learner.lower())[:6] or "l"
    return f"{letters}_{hashlib.sha256(learner.encode()).hexdigest()[:8]}_"


def own(name: str) -> str:
    """The name of one of this learner's databases: ``own("lesson04")``."""
    return f"{PREFIX}{learner_tag()}{name}"


def masked(url: URL) -> str:
    """A URL fit to print: the password, if any, becomes ***."""
    return url.render_as_string(hide_password=True)


_embedded: URL | None = None  # the embedded server's URL, once started by this process


def secret_forms(password: str) -> set[str]:
    """Every way a password can appear in text: raw, percent-encoded (with or without
    '/' kept), '+' for a space, and as SQLAlchemy writes it inside a URL."""
    from urllib.parse import quote, quote_plus

    in_url = URL.create("x", username="u", password=password, host="h").render_as_string(False)
    forms = {
        password,
        quote(password, safe=""),
        quote(password),
        quote_plus(password),
        quote_plus(password, safe="/"),
        in_url.split("u:", 1)[1].rsplit("@h", 1)[0],
    }
    return {form for form in forms if form}


def redact(message: str, *also: str) -> str:
    """Mask the course's passwords (yours and the embedded server's), and ``also`` these
    (a learner's, in what classroom setup ran as them), in any form."""
    passwords = list(also)
    try:
        url = get_settings().server_url()
        passwords.append(url.password if url is not None else server.password())
    except CourseError:
        pass
    for password in filter(None, passwords):
        for form in sorted(secret_forms(password), key=len, reverse=True):
            message = message.replace(form, "***")
    return message


def server_url() -> URL:
    """The learner's server from settings, or the embedded one (started on demand)."""
    global _embedded
    url = get_settings().server_url()
    if url is not None:
        return url
    if _embedded is None:
        _embedded = server.start()
    return _embedded


def url_for(name: str) -> URL:
    """The URL of one of the course's own databases on the server."""
    return server_url().set(database=_checked(name))


def _checked(name: str) -> str:
    if not name.startswith(PREFIX) or not _NAME.fullmatch(name):
        raise CourseError(
            f"Refusing to touch database {name!r}: the course only creates and drops "
            f"databases named {PREFIX}... (lowercase letters, digits and _)."
        )
    if len(name) > NAME_LIMIT:
        raise CourseError(
            f"Refusing to make database {name!r}: it is over PostgreSQL's {NAME_LIMIT} bytes, "
            f"which would cut it short (and two names could become one)."
        )
    return name


def explain(exc: Exception, url: URL) -> CourseError:
    """Turn a driver error into a sentence a learner can act on (no password)."""
    message = str(getattr(exc, "orig", exc) or exc)
    embedded = get_settings().uses_embedded_server
    where = (
        "the embedded server" if embedded else f"{url.host}" + (f":{url.port}" if url.port else "")
    )
    if "too many clients" in message or "remaining connection slots" in message:
        return CourseError(
            f"PostgreSQL at {where} has all its connections in use: close notebooks you no "
            f"longer need (their kernels hold connections), then run the cell again."
        )
    if "timeout expired" in message:
        return CourseError(
            f"PostgreSQL at {where} did not answer within 5 s: is it a PostgreSQL server, and "
            f"is it running? Check the host and port"
            + ("." if embedded else ", or unset DATABASE_URL to use the embedded server.")
        )
    if "password authentication failed" in message and classroom_role() is not None:
        return CourseError(  # PostgreSQL says the same of a role that no longer exists
            f"The class server at {where} refused your login ({url.username!r}): the class "
            f"may have been set up again or ended. Ask your instructor for your settings."
        )
    if "password authentication failed" in message or "no password supplied" in message:
        return CourseError(
            f"PostgreSQL at {where} refused the password for user {url.username!r}. "
            f"Check DATABASE_PASSWORD, or the password in DATABASE_URL (URL-encoded there: @ is "
            f"%40, % is %25)."
        )
    if re.search(r'database ".*" does not exist', message):
        return CourseError(
            f"Database {url.database!r} does not exist on {where}. Point DATABASE_URL "
            f"(or DATABASE_NAME) at an existing database such as 'postgres'; the course "
            f"creates its own databases next to it."
        )
    if re.search(r'role ".*" does not exist', message):
        return CourseError(
            f"PostgreSQL at {where} has no user {url.username!r}. Check DATABASE_USERNAME "
            f"or the user in DATABASE_URL."
        )
    if any(s in message for s in ("Connection refused", "could not translate host", "No route")):
        if embedded:
            return CourseError(
                "Cannot reach the embedded server: run `python -m course_app server status` in "
                "a terminal, then `python -m course_app server start`."
            )
        return CourseError(
            f"Cannot reach PostgreSQL at {where}. Is the server running, and are the host "
            f"and port right? Or unset DATABASE_URL to use the embedded server."
        )
    if "permission denied to create database" in message:
        return CourseError(
            f"User {url.username!r} may not create databases on {where}; the course needs "
            f"that: as an admin, run ALTER ROLE {url.username} CREATEDB (or unset DATABASE_URL)."
        )
    first_line = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return CourseError(f"PostgreSQL at {where} said: {first_line}")


def _engine(url: URL, **options) -> Engine:
    """An engine without a pool (a lesson reset may drop its database under it). On the
    embedded server it starts the server again if it stopped or died since: the next
    cell a learner runs after a crash simply works."""
    options.setdefault("poolclass", NullPool)
    made = create_engine(url, **options)
    if get_settings().uses_embedded_server:

        @event.listens_for(made, "do_connect")
        def _connect(dialect, record, cargs, cparams):
            try:
                return dialect.dbapi.connect(*cargs, **cparams)
            except dialect.dbapi.OperationalError as exc:
                if "too many clients" in str(exc) or "password authentication" in str(exc):
                    raise
                server.start()
                return dialect.dbapi.connect(*cargs, **cparams)

    return made


@cache
def _admin_engine(url: URL) -> Engine:
    """The server's maintenance database, which no lesson drops: its connections are kept
    (checked before each use), since a password login costs a SCRAM exchange, and thirty
    learners starting lessons at once on a class server would wait on those."""
    return _engine(
        url, isolation_level="AUTOCOMMIT", poolclass=QueuePool, pool_size=2, pool_pre_ping=True
    )


def _admin(statement: str, **params):
    url = server_url()
    try:
        return _run_admin(url, statement, params)
    except DBAPIError as exc:
        raise explain(exc, url) from None


def _run_admin(url: URL, statement: str, params: dict) -> list:
    with _admin_engine(url).connect() as conn:
        result = conn.execute(text(statement), params)
        return result.fetchall() if result.returns_rows else []


def class_execute(statement: str, **params) -> list:
    """One statement in the class database, as the learner or the instructor (the
    settings' user): the progress table lives there."""
    url = url_for(CLASS_DATABASE)
    try:
        with _engine(url).begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    except DBAPIError as exc:
        raise explain(exc, url) from None


def check_connection() -> str:
    """Connect once and return the server's version; raises a CourseError if it cannot."""
    return _admin("SHOW server_version")[0][0]


def exists(name: str) -> bool:
    return bool(_admin("SELECT 1 FROM pg_database WHERE datname = :n", n=_checked(name)))


def course_databases() -> list[str]:
    rows = _admin("SELECT datname FROM pg_database WHERE starts_with(datname, :p)", p=PREFIX)
    return sorted(name for (name,) in rows)


def create(name: str, template: str | None = None) -> None:
    """Create one of the course's databases, empty or as a copy of ``template``, that only
    its owner may connect to. PostgreSQL lets every role connect to a new database
    (``CONNECT`` for ``PUBLIC``), so it is made with a connection limit of 0 (its owner is
    held to it too) until that is revoked: nobody slips in between."""
    statement = f'CREATE DATABASE "{_checked(name)}"'
    if template is not None:
        statement += f' TEMPLATE "{_checked(template)}"'
        if classroom_role() is not None:
            # Thirty learners cloning at once: copying the template's files beats writing
            # every page through the WAL (bench/classroom.py), though alone it is slower.
            statement += " STRATEGY FILE_COPY"
    _admin(statement + " CONNECTION LIMIT 0")
    _admin(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    _admin(f'ALTER DATABASE "{name}" CONNECTION LIMIT -1')
    if template is not None and classroom_role() is not None:
        # A class template's tables belong to the class role: hand them to the learner.
        with _engine(url_for(name), isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'REASSIGN OWNED BY "{classroom_role()}" TO CURRENT_USER'))


CLASS_DATABASE = f"{PREFIX}class"  # a class server's own database: progress, and the lobby
CLASS_ROLE = f"{PREFIX}class"  # the role every learner of a class belongs to


def classroom_role() -> str | None:
    """The class role, if these settings are a learner's on a class server (whose
    DATABASE_URL names the class database)."""
    url = get_settings().server_url()
    return CLASS_ROLE if url is not None and url.database == CLASS_DATABASE else None


def drop(name: str) -> None:
    """Drop one of the course's databases, closing any connection to it first."""
    _admin(f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')


def recreate(name: str, template: str | None = None) -> None:
    drop(name)
    create(name, template)


def rename(old: str, new: str) -> None:
    _admin(f'ALTER DATABASE "{_checked(old)}" RENAME TO "{_checked(new)}"')


def set_comment(name: str, comment: str) -> None:
    """Mark one of the course's databases (``COMMENT ON DATABASE``): what made it, or from what."""
    _admin(f'COMMENT ON DATABASE "{_checked(name)}" IS :c', c=comment)


def comment(name: str) -> str | None:
    """A database's comment; None if it has none, or does not exist."""
    rows = _admin(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n",
        n=_checked(name),
    )
    return rows[0][0] if rows else None


@contextmanager
def lock(key: str) -> Iterator[None]:
    """Hold a server-wide advisory lock, so two kernels never build the same thing."""
    url = server_url()
    with _admin_engine(url).connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": PREFIX + key})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": PREFIX + key})


def ensure(name: str) -> URL:
    """Create the database if it is missing; return its URL."""
    if not exists(name):
        create(name)
    return url_for(name)


def engine(name: str, **options) -> Engine:
    """An engine on one of the course's databases. No pool: a lesson reset may
    drop the database under it, and the next use should simply reconnect."""
    return _engine(url_for(name), **options)
