"""`python -m bot` as operators run it: exit codes, one clear message, never a traceback."""
from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.config import load_config
from bot.store.migrate import head_revision
from conftest import CONTENT_DIR, DATA_DIR, RoundsServer, free_port, old_schema, rounds_env, run_rounds

BROKEN_LINE = "lessons/06-broken.yaml:29: lesson broken-answer: quiz: answer: must be between 1 and 3, not 4"


@pytest.fixture
def broken_prompts(tmp_path: Path) -> Path:
    copy = tmp_path / "broken-prompts"
    shutil.copytree(CONTENT_DIR, copy)
    shutil.copytree(DATA_DIR / "content_broken", copy, dirs_exist_ok=True)
    return copy


@pytest.fixture
def broken_config(tmp_path: Path, broken_prompts: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text("content_dir: broken-prompts\n", encoding="utf-8")
    return path


@pytest.fixture
def bad_zone_config(tmp_path: Path) -> Path:
    path = tmp_path / "rounds.yaml"
    path.write_text("hospital:\n  name: Riverside\n  timezone: Mars/Base\n", encoding="utf-8")
    return path


def db_env(tmp_path: Path) -> dict[str, str]:
    return rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")


def assert_usage_error(result, message: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"rounds: {message}" in result.stderr.splitlines(), result.stderr


# -- content check ---------------------------------------------------------------------------------------

def test_content_check_ok(tmp_path):
    result = run_rounds("content", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "content ok: 33 lessons in 8 tracks, 31 Tweet Camp items, 20 meetings\n"


def test_content_check_reports_file_and_line(tmp_path, broken_config, broken_prompts):
    result = run_rounds("content", "check", "--config", str(broken_config), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{broken_prompts}/{BROKEN_LINE}",
        f"rounds: 1 problem in {broken_prompts}",
    ]
    assert result.stdout == ""


def test_content_check_reads_rounds_config_from_the_environment(tmp_path, broken_config, broken_prompts):
    result = run_rounds("content", "check", cwd=tmp_path, env=rounds_env(ROUNDS_CONFIG=str(broken_config)))
    assert result.returncode == 2
    assert f"{broken_prompts}/{BROKEN_LINE}" in result.stderr.splitlines()


def test_content_check_lists_every_problem(tmp_path, broken_config, broken_prompts):
    (broken_prompts / "templates" / "video.j2").unlink()
    result = run_rounds("content", "check", "--config", str(broken_config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{broken_prompts}/{BROKEN_LINE}",
        f"{broken_prompts}/templates/video.j2: template missing",
        f"rounds: 2 problems in {broken_prompts}",
    ]


def test_content_check_of_a_missing_folder(tmp_path):
    (tmp_path / "rounds.yaml").write_text("content_dir: nowhere\n", encoding="utf-8")
    result = run_rounds("content", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"{tmp_path / 'nowhere'}: content folder not found"


# -- bad configuration ---------------------------------------------------------------------------------------

BAD_ZONE = "hospital.timezone: 'Mars/Base' is not a known time zone (e.g. America/Chicago)"


@pytest.mark.parametrize("command", [
    ["content", "check"], ["serve", "--port", "0"], ["demo", "--port", "0"], ["digest"]])
def test_bad_config_is_one_clear_message(tmp_path, bad_zone_config, command):
    # ./rounds.yaml is read when no --config is given; nothing starts listening.
    result = run_rounds(*command, cwd=tmp_path, env=db_env(tmp_path))
    assert_usage_error(result, f"rounds.yaml:3: {BAD_ZONE}")
    assert not (tmp_path / "x.db").exists()


def test_bad_config_given_with_config_flag(tmp_path, bad_zone_config):
    result = run_rounds("content", "check", "--config", str(bad_zone_config), cwd=tmp_path)
    assert_usage_error(result, f"{bad_zone_config}:3: {BAD_ZONE}")


def test_bad_config_key(tmp_path):
    path = tmp_path / "rounds.yaml"
    path.write_text("admins:\n  - maria.lopez@riverside.example\n  - maria at riverside\n", encoding="utf-8")
    result = run_rounds("content", "check", cwd=tmp_path)
    assert_usage_error(result, "rounds.yaml:1: admins[1]: 'maria at riverside' is not an email address")


def test_missing_explicit_config(tmp_path):
    result = run_rounds("content", "check", "--config", "absent.yaml", cwd=tmp_path)
    assert_usage_error(result, "absent.yaml: config file not found (run `rounds init` to write one)")


# -- init -------------------------------------------------------------------------------------------------

def test_init_writes_a_config_that_loads(tmp_path):
    result = run_rounds("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote rounds.yaml; edit it, then run `rounds db upgrade` and `rounds serve`\n"
    config = load_config(tmp_path / "rounds.yaml", required=True)
    assert config.admins == ("maria.lopez@riverside.example",)
    assert config.timezone == "America/New_York"
    # The written file is also what `content check` then reads.
    assert run_rounds("content", "check", cwd=tmp_path).returncode == 0

    again = run_rounds("init", cwd=tmp_path)
    assert_usage_error(again, "rounds.yaml already exists (use --force to overwrite)")
    (tmp_path / "rounds.yaml").write_text("# edited\n", encoding="utf-8")
    assert run_rounds("init", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "rounds.yaml").read_text(encoding="utf-8").startswith("# Social Rounds configuration.")


def test_init_to_a_named_file(tmp_path):
    assert run_rounds("init", "--config", "site.yaml", cwd=tmp_path).returncode == 0
    assert load_config(tmp_path / "site.yaml").hospital_handle == "RiversideUH"
    assert not (tmp_path / "rounds.yaml").exists()


# -- database and serve --------------------------------------------------------------------------------------

def test_serve_refuses_an_older_database_until_db_upgrade(tmp_path):
    env = db_env(tmp_path)
    old_schema(tmp_path / "x.db")
    refused = run_rounds("serve", "--host", "127.0.0.1", "--port", str(free_port()), cwd=tmp_path, env=env)
    assert_usage_error(refused, f"the database is at schema 0001, not {head_revision()}; run `rounds db upgrade` first")

    upgraded = run_rounds("db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"database at schema {head_revision()} (was 0001)\n"
    again = run_rounds("db", "upgrade", cwd=tmp_path, env=env)
    assert again.stdout == f"database at schema {head_revision()}\n"

    with RoundsServer("serve", cwd=tmp_path, env=env) as server:
        server.wait_healthy()
        assert server.get_json("/healthz") == (200, {"status": "ok"})
        assert server.get_json("/readyz") == (200, {"status": "ready"})
        # The local chat is only served by `demo` or `serve --webchat`.
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{server.url}/chat/api/personas", timeout=10)
        assert missing.value.code == 404
        assert server.stop() == 0
    assert "Traceback" not in server.output()


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_serve_and_demo_refuse_invalid_content(tmp_path, broken_config, broken_prompts, command):
    env = db_env(tmp_path)
    assert run_rounds("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    result = run_rounds(command, "--config", str(broken_config), "--port", str(free_port()), cwd=tmp_path, env=env)
    assert_usage_error(result, f"{broken_prompts}/{BROKEN_LINE}")


def test_without_a_command_prints_usage(tmp_path):
    result = run_rounds(cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith("usage: rounds ")
    assert "content check" not in result.stderr


def test_unknown_command_is_an_argparse_error(tmp_path):
    result = run_rounds("serv", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'serv'" in result.stderr
    assert "Traceback" not in result.stderr
