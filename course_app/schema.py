"""What a database really holds, as plain data: tables, columns, keys, constraints.

Checks compare two of these, the schema the learner's work produced and the one it
should have produced, instead of reading the learner's code: a revision is right
when running it builds the right tables, whatever it looks like. A difference is
named in full, in words a learner can act on ("posts.created_at: TIMESTAMP WITH
TIME ZONE in the models, TIMESTAMP WITHOUT TIME ZONE in the database"), never as
an internal tag such as "modify type".

Two spellings of the same thing compare equal: ``now()`` and ``CURRENT_TIMESTAMP``,
``''`` and ``''::character varying``, a serial and an identity column. Anything
PostgreSQL itself would treat differently does not: a time zone, a length, a
server default, ON DELETE, a constraint's name.
"""

import re
from dataclasses import dataclass, field, replace

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

AUTO = "auto-increment"  # a serial or identity column's default, however it was made
_NOW = {"now()", "current_timestamp", "transaction_timestamp()"}
_CAST_LITERAL = re.compile(r"^('(?:[^']|'')*')::[a-z ]+$")


@dataclass(frozen=True)
class Column:
    type: str  # as PostgreSQL spells it: "TIMESTAMP WITH TIME ZONE", "VARCHAR(50)"
    nullable: bool
    default: str | None  # the server default, normalised; AUTO for serial/identity

    def __str__(self) -> str:
        text = self.type + ("" if self.nullable else " NOT NULL")
        if self.default and self.default != AUTO:
            text += f" DEFAULT {self.default}"
        return text


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    columns: tuple[str, ...]
    target: str  # "users(id)"
    ondelete: str  # "CASCADE", "NO ACTION", ...
    options: tuple[str, ...] = ()  # "ON UPDATE CASCADE", "DEFERRABLE INITIALLY DEFERRED", ...

    def __str__(self) -> str:
        return " ".join([f"REFERENCES {self.target} ON DELETE {self.ondelete}", *self.options])


@dataclass(frozen=True)
class Table:
    columns: dict[str, Column]
    primary_key: tuple[str, ...]  # sorted: the order of a key's columns is not its meaning
    foreign_keys: frozenset[ForeignKey] = frozenset()
    # (name, columns, options such as "NULLS NOT DISTINCT" or "DEFERRABLE")
    uniques: frozenset[tuple[str | None, tuple[str, ...], tuple[str, ...]]] = frozenset()
    # (name, columns or expressions, unique)
    indexes: frozenset[tuple[str, tuple[str, ...], bool]] = frozenset()
    checks: frozenset[tuple[str | None, str]] = frozenset()  # (name, condition)
    primary_key_name: str | None = None  # "pk_posts" by the naming convention
    triggers: frozenset[tuple[str, str]] = frozenset()  # (name, what it runs and when)


@dataclass(frozen=True)
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)
    # What outlives a table: a sequence or an enum type left behind by a downgrade.
    sequences: frozenset[str] = frozenset()
    enums: frozenset[tuple[str, tuple[str, ...]]] = frozenset()  # (name, labels in order)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Schema)
            and self.tables == other.tables
            and self.sequences == other.sequences
            and self.enums == other.enums
        )

    def without_triggers(self) -> "Schema":
        """The same schema with no triggers: what models can describe (a trigger is a
        migration's own business, such as lesson 14's, which keeps two columns in step)."""
        return replace(
            self, tables={name: replace(t, triggers=frozenset()) for name, t in self.tables.items()}
        )

    def rename_column(self, table: str, old: str, new: str) -> "Schema":
        """The same schema with one column renamed (what a rename revision should build)."""
        shape = self.tables[table]
        columns = {(new if name == old else name): c for name, c in shape.columns.items()}
        renamed = replace(
            shape,
            columns=columns,
            primary_key=tuple(new if c == old else c for c in shape.primary_key),
        )
        return replace(self, tables={**self.tables, table: renamed})


def _type(sql_type) -> str:
    return sql_type.compile(dialect=postgresql.dialect())


def _default(column: dict) -> str | None:
    if column.get("identity") or column.get("autoincrement") is True:
        return AUTO
    default = column.get("default")
    if default is None:
        return None
    default = default.strip()
    while default.startswith("(") and default.endswith(")"):
        default = default[1:-1].strip()
    if default.startswith("nextval("):
        return AUTO
    if default.lower() in _NOW:
        return "now()"
    literal = _CAST_LITERAL.match(default)
    return literal[1] if literal else default


def _fk_options(options: dict) -> tuple[str, ...]:
    said = []
    if options.get("onupdate", "NO ACTION").upper() != "NO ACTION":
        said.append(f"ON UPDATE {options['onupdate'].upper()}")
    if options.get("match"):
        said.append(f"MATCH {options['match'].upper()}")
    if options.get("deferrable"):
        said.append(f"DEFERRABLE INITIALLY {(options.get('initially') or 'IMMEDIATE').upper()}")
    return tuple(said)


_EXTRAS = {  # what the inspector does not say, straight from PostgreSQL's catalogues
    "not_valid": "SELECT conrelid::regclass::text, conname FROM pg_constraint "
    "WHERE NOT convalidated AND connamespace = current_schema()::regnamespace",
    "triggers": "SELECT tgrelid::regclass::text, tgname, "
    "regexp_replace(pg_get_triggerdef(oid), '^CREATE (CONSTRAINT )?TRIGGER \\S+ ', '') "
    "FROM pg_trigger WHERE NOT tgisinternal "
    "AND strpos(tgrelid::regclass::text, '.') = 0",
    "sequences": "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()",
    "enums": "SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) "
    "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid "
    "WHERE t.typnamespace = current_schema()::regnamespace GROUP BY t.typname",
}


def snapshot(connection: Connection) -> Schema:
    """Read the schema of the connected database (``alembic_version`` left out)."""
    inspector = inspect(connection)
    names = [t for t in inspector.get_table_names() if t != "alembic_version"]
    sequences = frozenset(r[0] for r in connection.exec_driver_sql(_EXTRAS["sequences"]))
    enums = frozenset(
        (n, tuple(labels)) for n, labels in connection.exec_driver_sql(_EXTRAS["enums"])
    )
    if not names:
        return Schema({}, sequences, enums)
    not_valid = set(connection.exec_driver_sql(_EXTRAS["not_valid"]).fetchall())
    triggers: dict[str, set] = {}
    for table, name, definition in connection.exec_driver_sql(_EXTRAS["triggers"]):
        triggers.setdefault(table, set()).add((name, definition))
    key = lambda table: (None, table)  # noqa: E731  (get_multi_* key by (schema, table))
    columns = inspector.get_multi_columns(filter_names=names)
    keys = inspector.get_multi_pk_constraint(filter_names=names)
    foreign = inspector.get_multi_foreign_keys(filter_names=names)
    uniques = inspector.get_multi_unique_constraints(filter_names=names)
    indexes = inspector.get_multi_indexes(filter_names=names)
    checks = inspector.get_multi_check_constraints(filter_names=names)
    deferrable = {  # (table, constraint) -> "DEFERRABLE ...": the inspector does not say
        (table, name): "DEFERRABLE INITIALLY " + ("DEFERRED" if deferred else "IMMEDIATE")
        for table, name, deferred in connection.exec_driver_sql(
            "SELECT conrelid::regclass::text, conname, condeferred FROM pg_constraint "
            "WHERE condeferrable AND connamespace = current_schema()::regnamespace"
        )
    }
    tables = {}
    for name in sorted(names):
        tables[name] = Table(
            columns={
                c["name"]: Column(_type(c["type"]), bool(c["nullable"]), _default(c))
                for c in columns[key(name)]
            },
            primary_key=tuple(sorted(keys[key(name)]["constrained_columns"] or ())),
            foreign_keys=frozenset(
                ForeignKey(
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    f"{fk['referred_table']}({', '.join(fk['referred_columns'])})",
                    (fk.get("options") or {}).get("ondelete", "NO ACTION").upper(),
                    _fk_options(fk.get("options") or {})
                    + (("NOT VALID",) if (name, fk["name"]) in not_valid else ()),
                )
                for fk in foreign[key(name)]
            ),
            uniques=frozenset(
                (
                    u["name"],
                    tuple(u["column_names"]),
                    tuple(
                        option
                        for option in (
                            "NULLS NOT DISTINCT"
                            if (u.get("dialect_options") or {}).get("postgresql_nulls_not_distinct")
                            else "",
                            deferrable.get((name, u["name"]), ""),
                        )
                        if option
                    ),
                )
                for u in uniques[key(name)]
            ),
            indexes=frozenset(
                (
                    i["name"],
                    tuple(
                        c or e
                        for c, e in zip(
                            i["column_names"],
                            i.get("expressions") or i["column_names"],
                            strict=True,
                        )
                    ),
                    bool(i["unique"]),
                )
                for i in indexes[key(name)]
                if not i.get("duplicates_constraint")
            ),
            checks=frozenset((c["name"], c["sqltext"]) for c in checks[key(name)]),
            primary_key_name=keys[key(name)].get("name") if keys[key(name)] else None,
            triggers=frozenset(triggers.get(name, ())),
        )
    return Schema(tables, sequences, enums)


# -- differences, in words ---------------------------------------------------------

_FIXES = {
    "TIMESTAMP WITH TIME ZONE": "sa.TIMESTAMP(timezone=True)",
    "TIMESTAMP WITHOUT TIME ZONE": "sa.TIMESTAMP()",
    "VARCHAR": "sa.String()",
    "BOOLEAN": "sa.Boolean()",
    "INTEGER": "sa.Integer()",
    "TEXT": "sa.Text()",
}


def _said(value: str, fix: str | None) -> str:
    return f"{value} ({fix})" if fix else value


def differences(want: Schema, got: Schema, wanted_by: str, found_in: str) -> list[str]:
    """Every way ``got`` differs from ``want``, one sentence each, most telling first.

    ``wanted_by`` names the side that is right ("the models", "the exercise"), and
    ``found_in`` where the other was seen ("in the database", "after upgrade 0002").
    """
    said: list[str] = []
    for table in sorted(set(want.tables) - set(got.tables)):
        said.append(f"there is no {table} table {found_in}; it is in {wanted_by}.")
    for table in sorted(set(got.tables) - set(want.tables)):
        said.append(f"there is a {table} table {found_in} that is not in {wanted_by}.")
    for table in sorted(set(want.tables) & set(got.tables)):
        said.extend(
            _table_differences(table, want.tables[table], got.tables[table], wanted_by, found_in)
        )
    extra = set(got.tables) - set(want.tables)  # a table left behind takes its sequences' blame
    for sequence in sorted(got.sequences - want.sequences):
        if any(sequence.startswith(f"{table}_") for table in extra):
            continue
        said.append(
            f"there is a sequence {sequence} {found_in} that is not in {wanted_by}: drop it "
            f'where it is no longer needed (op.execute("DROP SEQUENCE {sequence}")).'
        )
    for sequence in sorted(want.sequences - got.sequences):
        said.append(f"there is no sequence {sequence} {found_in}; it is in {wanted_by}.")
    wanted_enums, found_enums = dict(want.enums), dict(got.enums)
    for enum in sorted(set(found_enums) - set(wanted_enums)):
        said.append(
            f"there is an enum type {enum} {found_in} that is not in {wanted_by}: dropping a "
            f'table leaves its enum type behind (drop it: sa.Enum(name="{enum}").drop(op.get_bind())).'
        )
    for enum in sorted(set(wanted_enums) - set(found_enums)):
        said.append(f"there is no enum type {enum} {found_in}; it is in {wanted_by}.")
    for enum in sorted(set(wanted_enums) & set(found_enums)):
        if wanted_enums[enum] != found_enums[enum]:
            said.append(
                f"the enum type {enum}: {', '.join(wanted_enums[enum])} in {wanted_by}, "
                f"{', '.join(found_enums[enum])} {found_in}."
            )
    return said


def _table_differences(name: str, want: Table, got: Table, wanted_by: str, found_in: str):
    for column in [c for c in want.columns if c not in got.columns]:
        yield (
            f"{name} has no {column} column {found_in}; it is in {wanted_by} as "
            f"{want.columns[column]}."
        )
    for column in [c for c in got.columns if c not in want.columns]:
        yield f"{name} has a column {column} {found_in} that is not in {wanted_by}."
    for column in [c for c in want.columns if c in got.columns]:
        a, b = want.columns[column], got.columns[column]
        where = f"{name}.{column}"
        if a.type != b.type:
            yield (
                f"{where}: {_said(a.type, _FIXES.get(a.type))} in {wanted_by}, {b.type} {found_in}."
            )
        if a.nullable != b.nullable:
            yield (
                f"{where}: {'nullable' if a.nullable else 'NOT NULL (nullable=False)'} in "
                f"{wanted_by}, {'nullable' if b.nullable else 'NOT NULL'} {found_in}."
            )
        if a.default != b.default:
            wanted = (
                f'server default {a.default} (server_default=sa.text("{a.default}"))'
                if a.default and a.default != AUTO
                else ("auto-increment" if a.default == AUTO else "no server default")
            )
            found = (
                f"server default {b.default}"
                if b.default and b.default != AUTO
                else ("auto-increment" if b.default == AUTO else "no server default")
            )
            yield f"{where}: {wanted} in {wanted_by}, {found} {found_in}."
    if want.primary_key != got.primary_key:
        wanted = f"PRIMARY KEY ({', '.join(want.primary_key)})" if want.primary_key else "none"
        found = f"PRIMARY KEY ({', '.join(got.primary_key)})" if got.primary_key else "none"
        yield f"the primary key of {name}: {wanted} in {wanted_by}, {found} {found_in}."
    elif want.primary_key_name != got.primary_key_name and want.primary_key:
        yield (
            f"the primary key of {name} is named {got.primary_key_name} {found_in}; "
            f"{want.primary_key_name} in {wanted_by} (the naming convention's name: let "
            f"op.create_table name it, or name it so)."
        )
    for trigger in sorted(set(got.triggers) - set(want.triggers)):
        yield f"there is a trigger {trigger[0]} on {name} {found_in} that is not in {wanted_by}."
    for trigger in sorted(set(want.triggers) - set(got.triggers)):
        yield f"there is no trigger {trigger[0]} on {name} {found_in}; it is in {wanted_by}."
    yield from _foreign_key_differences(name, want, got, wanted_by, found_in)
    yield from _named_differences(
        name,
        "unique constraint",
        {(n, c) for n, c, _ in want.uniques},
        {(n, c) for n, c, _ in got.uniques},
        wanted_by,
        found_in,
    )
    found_options = {(n, c): o for n, c, o in got.uniques}
    for wanted_name, columns, options in sorted(want.uniques, key=str):
        found = found_options.get((wanted_name, columns))
        if found is not None and found != options:
            yield (
                f"the unique constraint {wanted_name} on {name}({', '.join(columns)}): "
                f"{' '.join(options) or 'a plain one'} in {wanted_by}, "
                f"{' '.join(found) or 'a plain one'} {found_in}."
            )
    for index, unique in (("index", False), ("unique index", True)):
        yield from _named_differences(
            name,
            index,
            {(n, c) for n, c, u in want.indexes if u == unique},
            {(n, c) for n, c, u in got.indexes if u == unique},
            wanted_by,
            found_in,
        )
    for check in sorted(want.checks - got.checks, key=str):
        yield f"{name} has no CHECK ({check[1]}) {found_in}; it is in {wanted_by}."
    for check in sorted(got.checks - want.checks, key=str):
        yield f"{name} has a CHECK ({check[1]}) {found_in} that is not in {wanted_by}."


def _foreign_key_differences(name, want: Table, got: Table, wanted_by, found_in):
    by_columns = {fk.columns: fk for fk in got.foreign_keys}
    for fk in sorted(want.foreign_keys, key=str):
        on = f"{name}.{', '.join(fk.columns)}"
        found = by_columns.pop(fk.columns, None)
        if found is None:
            yield f"{on} has no foreign key {found_in}; in {wanted_by} it {fk}."
            continue
        if found.target != fk.target:
            yield (
                f"the foreign key on {on} points at {found.target} {found_in}; at {fk.target} "
                f"in {wanted_by}."
            )
        if found.ondelete != fk.ondelete:
            yield (
                f"the foreign key on {on}: ON DELETE {fk.ondelete} in {wanted_by} "
                f'(ondelete="{fk.ondelete}"), ON DELETE {found.ondelete} {found_in}.'
            )
        if found.options != fk.options:
            yield (
                f"the foreign key on {on}: {' '.join(fk.options) or 'no ON UPDATE, MATCH or DEFERRABLE'} "
                f"in {wanted_by}, {' '.join(found.options) or 'none of those'} {found_in}."
            )
        if fk.name and found.name != fk.name:
            yield (
                f"the foreign key on {on} is named {found.name} {found_in}; {fk.name} in "
                f"{wanted_by}, so a downgrade can drop it by that name."
            )
    for fk in sorted(by_columns.values(), key=str):
        yield (
            f"there is a foreign key on {name}.{', '.join(fk.columns)} {found_in} that is not "
            f"in {wanted_by}."
        )


def _named_differences(table, what, want, got, wanted_by, found_in):
    got_by_columns = {columns: n for n, columns in got}
    for wanted_name, columns in sorted(want - got, key=str):
        on = f"{table}({', '.join(columns)})"
        if columns in got_by_columns:
            yield (
                f"the {what} on {on} is named {got_by_columns[columns]} {found_in}; "
                f"{wanted_name} in {wanted_by}."
            )
        else:
            yield f"there is no {what} on {on} {found_in}; in {wanted_by} it is {wanted_name}."
    want_columns = {columns for _, columns in want}
    for found_name, columns in sorted(got - want, key=str):
        if columns not in want_columns:
            yield (
                f"there is {'an' if what[0] in 'aeiou' else 'a'} {what} {found_name} on {table}({', '.join(columns)}) {found_in} "
                f"that is not in {wanted_by}."
            )
