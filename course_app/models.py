"""The course's blog app (posts, users, votes), as SQLAlchemy 2.0 typed models.

Plain declarations, nothing about the course: this file is what a learner's
own ``app/models.py`` looks like at the end, and the reference migration
history in ``alembic/versions/`` builds exactly these tables (a test checks).

The naming convention gives every constraint a name we chose rather than one
PostgreSQL invents (``posts_owner_id_fkey``): a downgrade has to name the
constraint it drops, and autogenerate can only compare what has a stable name.
"""

from datetime import datetime

from sqlalchemy import TIMESTAMP, Enum, ForeignKey, Index, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String, nullable=False)
    # Was content until 0014: renamed in three steps, with the app running (lesson 14).
    body: Mapped[str] = mapped_column(String, nullable=False)
    published: Mapped[bool] = mapped_column(server_default=text("true"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=text("now()"), nullable=False
    )
    # Nullable: posts written before users existed have no owner.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Nullable: the posts already there have none. Unique: two posts never share one.
    slug: Mapped[str | None] = mapped_column(String(200), unique=True)
    summary: Mapped[str | None] = mapped_column(String(280), index=True)
    views: Mapped[int] = mapped_column(server_default=text("0"))
    status: Mapped[str | None] = mapped_column(
        Enum("draft", "published", "archived", name="post_status")
    )

    __table_args__ = (Index("ix_posts_created_at", "created_at"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String, nullable=False, unique=True)
    password: Mapped[str] = mapped_column(String, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=text("now()"), nullable=False
    )
    bio: Mapped[str | None] = mapped_column(Text)


class Vote(Base):
    __tablename__ = "votes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
