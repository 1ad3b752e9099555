"""Alembic, driven from code. The migrations folder sits beside the `app` package (a checkout,
an editable install, or the container image, which keeps the source tree)."""

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def script_location() -> Path:
    folder = Path(__file__).resolve().parent.parent / "migrations"
    if not (folder / "env.py").is_file():
        raise RuntimeError(f"the Alembic migrations were not found at {folder}")
    return folder


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def head_revisions() -> set[str]:
    script = ScriptDirectory(str(script_location()))
    return set(script.get_heads())


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
