"""The package as a user installs it: ``pip install .`` (not editable) into a fresh virtualenv outside
the checkout, then ``reviewbot db upgrade`` on a new SQLite file. The migrations ship inside it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "src" / "reviewbot" / "store" / "migrations"


def _run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_pip_install_outside_the_checkout_then_db_upgrade(tmp_path):
    # What `pip install .` builds from, copied so that the build leaves nothing in the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))

    # A virtualenv without pip; the dependencies (and pip and setuptools) come from this environment
    # as plain sys.path entries, so none of its .pth files run and the checkout's editable
    # reviewbot stays out of it.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    here = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "reviewbot-test-dependencies.pth").write_text("".join(f"{path}\n" for path in here))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    offline = ["--no-build-isolation", "--no-index"] if importlib.util.find_spec("setuptools") else []
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", *offline, ".", cwd=source, env=env)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run(python, "-c", "import reviewbot; print(reviewbot.__file__)", cwd=work, env=env)
    installed = Path(where.stdout.strip())
    assert installed.is_relative_to(venv), f"reviewbot imported from {installed}, not from the virtualenv"
    shipped = installed.parent / "store" / "migrations"
    assert (shipped / "script.py.mako").is_file()
    assert sorted(p.name for p in (shipped / "versions").glob("*.py")) == sorted(
        p.name for p in (MIGRATIONS / "versions").glob("*.py")
    )

    database = tmp_path / "new.db"
    env["DATABASE_URL"] = f"sqlite:///{database}"
    result = _run(venv / "bin" / "reviewbot", "db", "upgrade", cwd=work, env=env)
    assert "database is up to date" in result.stdout

    with sqlite3.connect(database) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"meetings", "sections", "notes", "attendees", "publications"} <= tables
    assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()
