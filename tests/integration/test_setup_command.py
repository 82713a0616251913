"""``flask setup`` (what ``make run`` runs before serving): the migrations, the development PKI
and the demo in one process; run again, it changes nothing and says so."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from app import create_app
from settings import Settings


def test_setup_then_setup_again_changes_nothing(tmp_path: Path) -> None:
    # a database Alembic has never seen (not the models' schema the other tests start from)
    settings = Settings(data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'setup.db'}", testing=True)
    app = create_app(settings)
    try:
        runner = app.test_cli_runner()
        first = runner.invoke(args=["setup"])
        assert first.exit_code == 0, first.output
        engine = app.extensions["lienthong.engine"]
        with engine.connect() as conn:
            users = conn.execute(sa.text("SELECT count(*) FROM app_user")).scalar_one()
        assert users > 0
        again = runner.invoke(args=["setup"])
        assert again.exit_code == 0, again.output
        assert "đã có sẵn" in again.output  # pki init: the PKI already there
        assert "Dữ liệu thử đã có: không làm gì" in again.output  # demo seed --if-missing: nothing done
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM app_user")).scalar_one() == users
    finally:
        app.extensions["lienthong.services"].close()
