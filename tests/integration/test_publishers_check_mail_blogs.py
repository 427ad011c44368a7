"""`masthead publishers list|check` with SMTP, Ghost and WordPress tables: each checked against
its real wire (EHLO + STARTTLS + AUTH, a Ghost read, WordPress users/me), the variable to renew
named, and no secret in any output; bad tables refused by field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.ghost_server import GhostServer
from tests.support.harness import write_config
from tests.support.publishing import (
    GHOST_KEY_ENV,
    SMTP_PASSWORD_ENV,
    SMTP_USER_ENV,
    WORDPRESS_PASSWORD_ENV,
    ghost_table,
    smtp_table,
    wordpress_table,
)
from tests.support.smtp_server import SmtpServer
from tests.support.wordpress_server import WordPressServer

from masthead.app.workspace import init_workspace
from masthead.config import load_config
from masthead.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SMTP_USER, SMTP_PASSWORD = "ana@tallybook.example", "smtp-pass-123456"


def test_check_reaches_each_service_and_prints_no_secret(tmp_path):
    with SmtpServer(user=SMTP_USER, password=SMTP_PASSWORD, tls_folder=tmp_path) as smtp, GhostServer() as ghost, \
            WordPressServer(app_password="right pass word") as wordpress:
        write_config(tmp_path, "http://127.0.0.1:9/v1")
        tables = (smtp_table(smtp.port, starttls=True, ca_file=str(smtp.cert_file)) + "\n" + ghost_table(ghost.base_url)
                  + "\n" + wordpress_table(wordpress.base_url))
        with (tmp_path / "masthead.toml").open("a") as config:
            config.write("\n" + tables)
        secrets = {SMTP_USER_ENV: SMTP_USER, SMTP_PASSWORD_ENV: SMTP_PASSWORD, GHOST_KEY_ENV: ghost.admin_key,
                   WORDPRESS_PASSWORD_ENV: "wrong-wp-password"}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), **secrets}
        init_workspace(tmp_path)[0].close()
        run = [sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path), "publishers"]
        listed = subprocess.run([*run, "list", "--json"], env=env, capture_output=True, text=True)
        assert listed.returncode == 0, listed.stderr
        assert {r["name"]: (r["kind"], r["credential_env"], r["exactly_once"]) for r in json.loads(listed.stdout)} == {
            "file": ("file", None, "safe_retry"), "ghost": ("ghost", GHOST_KEY_ENV, "safe_retry"),
            "mail": ("smtp", SMTP_PASSWORD_ENV, "reconcile"),
            "wordpress": ("wordpress", WORDPRESS_PASSWORD_ENV, "safe_retry")}
        checked = subprocess.run([*run, "check", "--json"], env=env, capture_output=True, text=True)
        assert checked.returncode == 1, checked.stderr
        rows = {r["name"]: r for r in json.loads(checked.stdout)}
        assert rows["mail"]["ok"] and "STARTTLS" in rows["mail"]["detail"]
        assert rows["ghost"]["ok"] and "Tallybook Blog" in rows["ghost"]["detail"]
        assert not rows["wordpress"]["ok"] and rows["wordpress"]["renew"] == WORDPRESS_PASSWORD_ENV
        assert "incorrect_password" in rows["wordpress"]["detail"]
        assert smtp.auth_attempts == 1 and not smtp.messages and not ghost.posts and not wordpress.posts
        plain = subprocess.run([*run, "check", "wordpress"], env=env, capture_output=True, text=True)
        assert plain.returncode == 1 and WORDPRESS_PASSWORD_ENV in plain.stdout and "Traceback" not in plain.stderr
        for output in (listed.stdout, checked.stdout, checked.stderr, plain.stdout, plain.stderr):
            for value in (SMTP_USER, SMTP_PASSWORD, ghost.secret, "wrong-wp-password"):
                assert value not in output


def _config(tmp_path: Path, table: str):
    (tmp_path / "masthead.toml").write_text(table)
    return load_config(tmp_path / "masthead.toml", environ={})


@pytest.mark.parametrize("table, message", [
    ('kind = "smtp"\nhost = "smtp.example.com"\nto = ["a@b.example"]\n', r"from: Field required"),
    ('kind = "smtp"\nhost = "smtp.example.com"\nfrom = "a@b.example"\nto = []\n', r"to: List should have at least 1"),
    ('kind = "smtp"\nhost = "smtp.example.com"\nfrom = "a@b.example"\nto = ["c@b.example"]\nstarttls = false\n'
     'username_env = "SMTP_USER"\npassword_env = "SMTP_PASSWORD"\n', r"unencrypted"),
    ('kind = "ghost"\nbase_url = "https://g.example"\nadmin_key_env = "6748592f:abcdef"\n',
     r"admin_key_env: must be the NAME of an environment variable"),
    ('kind = "ghost"\nbase_url = "https://g.example"\nadmin_key_env = "GHOST_KEY"\nstatus = "live"\n', r"status"),
    ('kind = "wordpress"\nbase_url = "https://w.example"\napp_password_env = "WP"\n', r"username: Field required"),
])
def test_bad_tables_are_refused_naming_the_field(tmp_path, table, message):
    with pytest.raises(ConfigError, match=message) as caught:
        _config(tmp_path, "[publishers.p]\n" + table)
    assert "6748592f:abcdef" not in str(caught.value)


def test_an_address_that_is_not_one_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"from: .*'news at tallybook' is not an email address"):
        _config(tmp_path, '[publishers.p]\nkind = "smtp"\nhost = "h.example"\nfrom = "news at tallybook"\n'
                          'to = ["a@b.example"]\n')
