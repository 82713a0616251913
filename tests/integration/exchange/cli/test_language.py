"""The ``flask`` commands print in one language: Vietnamese, or English with LIENTHONG_LANGUAGE=en."""
from __future__ import annotations

import pytest

from app import create_app
from settings import Settings


@pytest.fixture
def cli(tmp_path, database_url):  # type: ignore[no-untyped-def]
    """A runner for an application configured from the environment, as `flask --app app` is."""
    apps = []

    def runner(**env: str):  # type: ignore[no-untyped-def]
        settings = Settings.from_env({"LIENTHONG_DATA_DIR": str(tmp_path / "var"),
                                      "LIENTHONG_DATABASE_URL": database_url, **env})
        apps.append(create_app(settings))
        return apps[-1].test_cli_runner()

    yield runner
    for app in apps:
        app.extensions["lienthong.services"].close()


def test_vietnamese_by_default_english_when_asked(cli):
    vi, en = cli(), cli(LIENTHONG_LANGUAGE="en")
    assert vi.invoke(args=["audit", "verify"]).output == "chuỗi nhật ký nguyên vẹn: 0 sự kiện\n"
    assert en.invoke(args=["audit", "verify"]).output == "audit chain intact: 0 events\n"


def test_refusals_and_their_fields_in_the_operators_language(cli):
    args = ["users", "create", "vanthu.xa", "--agency", "999.00.00.H99", "--roles", "clerk,boss", "--full-name", "X"]
    env = {"LIENTHONG_PASSWORD": "mật-khẩu-dài-đủ-rồi"}
    vi = cli().invoke(args=args, env=env)
    en = cli(LIENTHONG_LANGUAGE="en").invoke(args=args, env=env)
    assert vi.exit_code == en.exit_code == 1
    assert vi.output.splitlines() == ["lỗi: vai trò không có: boss (dùng clerk, signer, auditor, admin)",
                                      "  roles: vai trò không có: boss (dùng clerk, signer, auditor, admin)"]
    assert en.output.splitlines() == ["error: unknown roles: boss (use clerk, signer, auditor, admin)",
                                      "  roles: unknown roles: boss (use clerk, signer, auditor, admin)"]
    usage = cli(LIENTHONG_LANGUAGE="en").invoke(args=["tokens", "create"])
    assert usage.exit_code == 2 and "give exactly one of --user or --agency" in usage.output


def test_the_pki_commands_speak_it_too(cli):
    vi = cli().invoke(args=["pki", "revoke", "zz-not-hex"])
    en = cli(LIENTHONG_LANGUAGE="en").invoke(args=["pki", "revoke", "zz-not-hex"])
    assert vi.exit_code == en.exit_code == 1
    assert "'zz-not-hex' không phải số hiệu thập lục phân" in vi.output
    assert "'zz-not-hex' is not a hexadecimal serial number" in en.output
