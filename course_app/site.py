"""The site's reference page, drawn from the code at build time (an MkDocs hook).

``docs/reference.md`` holds two markers; this hook replaces them on every
build: ``<!-- schema -->`` with an SVG diagram of ``course_app.models`` and
``<!-- revisions -->`` with the reference history's revision graph. The page
cannot drift from the models or the migrations, and the diagram is plain SVG:
no diagram library fetched from elsewhere.
"""

from html import escape

from sqlalchemy import MetaData

from course_app.lessons import reference_config
from course_app.models import Base

ROW, GAP, TOP, CHAR = 24, 80, 60, 7.4  # CHAR: width of a 12px monospace character


def _label(column) -> str:
    marks = ["PK" if column.primary_key else "", "FK" if column.foreign_keys else ""]
    marks += ["UNIQUE"] if column.unique else []
    kind = str(column.type).split("(")[0]
    null = "" if column.nullable else " not null"
    extra = " ".join(m for m in marks if m)
    return f"{column.name}: {kind}{null}" + (f"  [{extra}]" if extra else "")


def schema_svg(metadata: MetaData = Base.metadata) -> str:
    """Tables as boxes in dependency order, foreign keys as arrows."""
    tables = list(metadata.sorted_tables)
    box = 16 + CHAR * max(len(_label(c)) for t in tables for c in t.columns)
    x = {t.name: 20 + i * (box + GAP) for i, t in enumerate(tables)}
    height = TOP + ROW * (1 + max(len(t.columns) for t in tables)) + 20
    width = 20 + len(tables) * (box + GAP) - GAP + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Schema of the blog app" font-family="monospace" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/>'
        "</marker></defs>",
    ]
    for table in tables:
        left = x[table.name]
        rows = len(table.columns)
        parts.append(
            f'<rect x="{left}" y="{TOP}" width="{box}" height="{ROW * (rows + 1)}" '
            f'fill="none" stroke="currentColor"/>'
            f'<rect x="{left}" y="{TOP}" width="{box}" height="{ROW}" '
            f'fill="currentColor" fill-opacity="0.12" stroke="currentColor"/>'
            f'<text x="{left + 8}" y="{TOP + 16}" font-weight="bold" fill="currentColor">'
            f"{escape(table.name)}</text>"
        )
        for i, column in enumerate(table.columns, start=1):
            y = TOP + ROW * i + 16
            parts.append(
                f'<text x="{left + 8}" y="{y}" fill="currentColor">{escape(_label(column))}</text>'
            )
            for key in column.foreign_keys:
                target = key.column.table.name
                cascade = f" ON DELETE {key.ondelete}" if key.ondelete else ""
                # From the column's row, up and over, into the top of the referred table.
                start_x, start_y = left, y - 4
                end_x, end_y = x[target] + box / 2, TOP
                parts.append(
                    f'<path d="M{start_x},{start_y} C{start_x - GAP / 2},{start_y} '
                    f'{end_x},{TOP - GAP / 2} {end_x},{end_y}" fill="none" '
                    f'stroke="currentColor" marker-end="url(#arrow)">'
                    f"<title>{escape(table.name)}.{escape(column.name)} references "
                    f"{escape(key.target_fullname)}{cascade}</title></path>"
                )
    parts.append("</svg>")
    return '<div class="course-schema">' + "".join(parts) + "</div>"


def revision_graph() -> str:
    """The reference history, oldest first, as a Markdown list."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(reference_config())
    lines = []
    for revision in reversed(list(script.walk_revisions())):
        before = revision.down_revision or "base"
        head = " (head)" if revision.is_head else ""
        lines.append(f"- `{before}` → **`{revision.revision}`**{head}: {revision.doc}")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "<!-- schema -->" in markdown:
        markdown = markdown.replace("<!-- schema -->", schema_svg())
    if "<!-- revisions -->" in markdown:
        markdown = markdown.replace("<!-- revisions -->", revision_graph())
    return markdown
