"""The site's reference page, drawn from the code at build time (an MkDocs hook).

``docs/reference.md`` holds two markers; this hook replaces them on every
build: ``<!-- schema -->`` with an SVG diagram of ``course_app.models`` and
``<!-- revisions -->`` with the reference history's revision graph. The page
cannot drift from the models or the migrations, and the diagram is plain SVG:
no diagram library fetched from elsewhere.

It also points a lesson's links to another lesson (``10_deploying.ipynb``, right in
JupyterLab) at that lesson's page: mkdocs-jupyter leaves them as they are.
"""

import re
from html import escape

from sqlalchemy import MetaData

from course_app.lessons import reference_config
from course_app.models import Base

ROW, PAD, CHAR = 26, 10, 8.4  # CHAR: the width of a 14px monospace character
LANE = 14  # room for one arrow in a gap between boxes


def _label(column) -> str:
    marks = ["PK" if column.primary_key else "", "FK" if column.foreign_keys else ""]
    marks += ["UNIQUE"] if column.unique else []
    kind = str(column.type).split("(")[0]
    null = "" if column.nullable else " not null"
    extra = " ".join(m for m in marks if m)
    return f"{column.name}: {kind}{null}" + (f" [{extra}]" if extra else "")


def schema_svg(metadata: MetaData = Base.metadata) -> str:
    """Tables as boxes, foreign keys as arrows that never cross a box.

    Tables that others refer to stand in a left column, one under another; the rest in a
    right column. An arrow leaves its column's row sideways and runs in a lane of its own
    (the left margin, or the gap between the columns) to the row it refers to.
    """
    tables = list(metadata.sorted_tables)
    referred = {k.column.table.name for t in tables for c in t.columns for k in c.foreign_keys}
    left = [t for t in tables if t.name in referred]
    right = [t for t in tables if t.name not in referred] or []
    box = 2 * PAD + CHAR * max(len(_label(c)) for t in tables for c in t.columns)
    arrows = [(t, c, k) for t in tables for c in t.columns for k in c.foreign_keys]
    inner = [a for a in arrows if a[0].name in referred]  # left column to left column
    outer = [a for a in arrows if a[0].name not in referred]  # right column to left column
    margin = 8 + LANE * (len(inner) + 1)
    gap = LANE * (len(outer) + 1)
    place, y = {}, 20
    for table in left:
        place[table.name] = (margin, y)
        y += ROW * (len(table.columns) + 1) + 30
    height = y
    y = 20 + ROW  # the right column starts a row lower: its arrows run into the rows above
    for table in right:
        place[table.name] = (margin + box + gap, y)
        y += ROW * (len(table.columns) + 1) + 30
    height = max(height, y) + 10
    width = margin + box + (gap + box if right else 0) + 8

    def row_y(table, column) -> float:
        index = list(table.columns).index(column)
        return place[table.name][1] + ROW * (index + 1) + ROW / 2

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" role="img" aria-label="Schema of the blog app: '
        f"{', '.join(t.name for t in tables)}" + '" font-family="monospace" font-size="14">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/>'
        "</marker></defs>",
    ]
    for table in tables:
        x, top = place[table.name]
        parts.append(
            f'<rect x="{x}" y="{top}" width="{box:.0f}" height="{ROW * (len(table.columns) + 1)}" '
            f'fill="none" stroke="currentColor"/>'
            f'<rect x="{x}" y="{top}" width="{box:.0f}" height="{ROW}" '
            f'fill="currentColor" fill-opacity="0.12" stroke="currentColor"/>'
            f'<text x="{x + PAD}" y="{top + 18}" font-weight="bold" fill="currentColor">'
            f"{escape(table.name)}</text>"
        )
        for i, column in enumerate(table.columns, start=1):
            parts.append(
                f'<text x="{x + PAD}" y="{top + ROW * i + 18}" fill="currentColor">'
                f"{escape(_label(column))}</text>"
            )
    for lane, (table, column, key) in enumerate(inner, start=1):
        x0 = place[table.name][0]
        target = key.column.table
        lane_x = margin - LANE * lane
        points = [
            (x0, row_y(table, column)),
            (lane_x, row_y(table, column)),
            (lane_x, row_y(target, key.column)),
            (place[target.name][0], row_y(target, key.column)),
        ]
        parts.append(_arrow(points, table, column, key))
    for lane, (table, column, key) in enumerate(outer, start=1):
        x0 = place[table.name][0]
        target = key.column.table
        lane_x = margin + box + LANE * lane
        points = [
            (x0, row_y(table, column)),
            (lane_x, row_y(table, column)),
            (lane_x, row_y(target, key.column)),
            (margin + box, row_y(target, key.column)),
        ]
        parts.append(_arrow(points, table, column, key))
    parts.append("</svg>")
    return '<div class="course-schema">' + "".join(parts) + "</div>"


def _arrow(points, table, column, key) -> str:
    path = " L".join(f"{x:.0f},{y:.0f}" for x, y in points)
    cascade = f" ON DELETE {key.ondelete}" if key.ondelete else ""
    return (
        f'<path d="M{path}" fill="none" stroke="currentColor" marker-end="url(#arrow)">'
        f"<title>{escape(table.name)}.{escape(column.name)} references "
        f"{escape(key.target_fullname)}{cascade}</title></path>"
    )


def revision_graph() -> str:
    """The reference history, oldest first, as a Markdown list."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(reference_config())
    lines = []
    for revision in reversed(list(script.walk_revisions())):
        down = revision.down_revision or "base"
        before = " + ".join(down) if isinstance(down, tuple) else down  # a merge has two
        head = " (head)" if revision.is_head else ""
        lines.append(f"- `{before}` → **`{revision.revision}`**{head}: {revision.doc}")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "<!-- schema -->" in markdown:
        markdown = markdown.replace("<!-- schema -->", schema_svg())
    if "<!-- revisions -->" in markdown:
        markdown = markdown.replace("<!-- revisions -->", revision_graph())
    return markdown


LESSON_LINK = re.compile(r'href="(\d\d_\w+)\.ipynb(#[^"]*)?"')


def on_post_page(output: str, page, config) -> str:
    """A link from one lesson to another, ``NN_name.ipynb``, becomes ``../NN_name/``."""
    if not page.file.src_uri.startswith("lessons/"):
        return output
    return LESSON_LINK.sub(lambda m: f'href="../{m[1]}/{m[2] or ""}"', output)
