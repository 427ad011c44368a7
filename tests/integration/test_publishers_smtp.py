"""The SMTP publisher against a real SMTP server on loopback (aiosmtpd): the message as a mail
client reads it, STARTTLS with a certificate made here, refused passwords and addresses, and a
server that takes the message but never answers (a person decides; never sent twice)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import (
    SMTP_PASSWORD_ENV,
    SMTP_USER_ENV,
    publishing_workspace,
    smtp_table,
)
from tests.support.smtp_server import SmtpServer

from masthead.app.publishers import check_publishers
from masthead.app.retraction import retract_piece
from masthead.channels.publisher import (
    CredentialsRejected,
    Delivery,
    PublicationRejected,
    PublisherBusy,
)
from masthead.channels.publishers.smtp import SmtpPublisher
from masthead.config import SmtpPublisherSection
from masthead.errors import ConfigError
from masthead.projections.replay import verify

USER, PASSWORD = "ana@tallybook.example", "smtp-pass-123456"
ENVIRON = {SMTP_USER_ENV: USER, SMTP_PASSWORD_ENV: PASSWORD}
DELIVERY = Delivery(key="pc-7:v2:newsletter:mail", piece_id="pc-7", version=2, channel="newsletter", project="tallybook",
                    text="Tallybook 3.2 ships **bank feeds**.\n\n.A line that starts with a dot\n\n- Café ✓\n- <b>raw</b>",
                    subject="Tallybook 3.2: bank feeds, at last ✓", at="2026-12-07T10:00:05Z", requested_at="2026-12-07T10:00:00Z")


def publisher(server: SmtpServer, **overrides: object) -> SmtpPublisher:
    table = {"host": "127.0.0.1", "port": server.port, "starttls": server.cert_file is not None,
             "username_env": SMTP_USER_ENV, "password_env": SMTP_PASSWORD_ENV,
             "from": "Tallybook Café <news@tallybook.example>", "to": ["readers@lists.tallybook.example", USER],
             "list_unsubscribe": "https://tallybook.example/unsubscribe", "timeout_seconds": 2.0,
             "ca_file": str(server.cert_file) if server.cert_file else None, **overrides}
    return SmtpPublisher("mail", SmtpPublisherSection.model_validate(table), dict(ENVIRON))


@pytest.fixture
def tls_server(tmp_path: Path):
    with SmtpServer(user=USER, password=PASSWORD, tls_folder=tmp_path) as server:
        yield server


def test_a_multipart_message_goes_over_starttls_with_headers_derived_from_the_key(tls_server):
    mail = publisher(tls_server)
    receipt = mail.publish(DELIVERY)
    [message] = tls_server.messages
    assert message.get_content_type() == "multipart/alternative"
    assert max(tls_server.raw[0]) < 128  # 7-bit on the wire: servers without 8BITMIME take it as is
    assert message["Subject"] == "Tallybook 3.2: bank feeds, at last ✓"  # RFC 2047 on the wire, read back
    assert message["From"].addresses[0].display_name == "Tallybook Café"
    assert message["Message-ID"] == "<pc-7.v2.newsletter.mail@tallybook.example>" == receipt.remote_id
    assert message["X-Masthead-Delivery"] == DELIVERY.key
    assert message["List-Unsubscribe"] == "<https://tallybook.example/unsubscribe>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"] == "Mon, 07 Dec 2026 10:00:00 +0000"  # the first intent's time
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert ".A line that starts with a dot" in text and "Café ✓" in text  # dot-stuffing undone, UTF-8 kept
    assert "<strong>bank feeds</strong>" in html and "<li>Café ✓</li>" in html
    assert "&lt;b&gt;raw&lt;/b&gt;" in html  # raw HTML in a piece is shown, never passed through
    assert tls_server.envelopes == [("news@tallybook.example", ["readers@lists.tallybook.example", USER])]
    # A retry builds the same message: the Message-ID is stable.
    mail.publish(DELIVERY)
    assert tls_server.messages[1]["Message-ID"] == message["Message-ID"]


def test_check_logs_in_over_starttls_and_names_no_secret(tls_server):
    detail = publisher(tls_server).check()
    assert "STARTTLS" in detail and SMTP_USER_ENV in detail
    assert USER not in detail and PASSWORD not in detail
    assert tls_server.auth_attempts == 1 and not tls_server.messages


def test_an_untrusted_certificate_is_a_clear_configuration_error(tls_server):
    with pytest.raises(ConfigError, match="not trusted") as error:
        publisher(tls_server, ca_file=None).check()
    assert "ca_file" in (error.value.fix or "")


def test_a_refused_password_names_the_variable_and_never_the_value(tls_server):
    mail = SmtpPublisher("mail", publisher(tls_server).settings, {**ENVIRON, SMTP_PASSWORD_ENV: "wrong-password-1"})
    with pytest.raises(CredentialsRejected) as error:
        mail.publish(DELIVERY)
    assert error.value.env == SMTP_PASSWORD_ENV and "535" in str(error.value)
    assert "wrong-password-1" not in str(error.value) and USER not in str(error.value)
    assert not tls_server.messages


def test_4xx_is_busy_and_5xx_is_refused_and_nothing_is_taken(tls_server):
    mail = publisher(tls_server)
    tls_server.answer_next("MAIL", "451 4.3.0 Mail server temporarily rejected message")
    with pytest.raises(PublisherBusy, match="451"):
        mail.publish(DELIVERY)
    tls_server.answer_next("RCPT", "550 5.1.1 No such user")
    tls_server.answer_next("RCPT", "550 5.1.1 No such user")
    with pytest.raises(PublicationRejected, match="550"):
        mail.publish(DELIVERY)
    tls_server.answer_next("DATA", "554 5.7.1 Message rejected as spam")
    with pytest.raises(PublicationRejected, match="554"):
        mail.publish(DELIVERY)
    assert not tls_server.messages


def test_a_refusal_of_a_piece_s_own_recipient_names_no_address(tls_server):
    """An outreach email's recipient is a person whose address is sealed: the error that goes
    into the log (PublicationFailed) says "<recipient>", whatever the server echoes."""
    from dataclasses import replace

    to_ada = replace(DELIVERY, to=("Ada@Analytical.example",))
    tls_server.answer_next("RCPT", "550 5.1.1 <ada@analytical.example>: Recipient address rejected")
    with pytest.raises(PublicationRejected, match="550") as error:
        publisher(tls_server).publish(to_ada)
    assert "analytical" not in str(error.value).lower() and "<recipient>" in str(error.value)
    assert not tls_server.messages


def test_one_refused_recipient_still_delivers_to_the_others_and_says_so(tls_server):
    tls_server.answer_next("RCPT", "550 5.1.1 No such user")
    receipt = publisher(tls_server).publish(DELIVERY)
    assert len(tls_server.messages) == 1
    assert "refused by the server: readers@lists.tallybook.example" in receipt.location


def test_an_unreachable_server_is_busy_and_retract_is_refused(tls_server):
    closed = SmtpServer(user=None)  # not started: nobody listens on its port
    with pytest.raises(PublisherBusy, match="unreachable"):
        publisher(tls_server, port=closed.port).publish(DELIVERY)
    receipt = publisher(tls_server).publish(DELIVERY)
    with pytest.raises(PublicationRejected, match="cannot be unsent"):
        publisher(tls_server).retract(receipt)


def test_settings_refuse_a_password_in_clear_to_another_machine():
    table = {"host": "smtp.example.com", "starttls": False, "username_env": "SMTP_USER", "password_env": "SMTP_PASSWORD",
             "from": "news@tallybook.example", "to": ["a@tallybook.example"]}
    with pytest.raises(ValueError, match="unencrypted"):
        SmtpPublisherSection.model_validate(table)
    with pytest.raises(ValueError, match="go together"):
        SmtpPublisherSection.model_validate({**table, "starttls": True, "password_env": None})
    SmtpPublisherSection.model_validate({**table, "host": "127.0.0.1"})  # a relay on this machine


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


# Plain SMTP with AUTH (aiosmtpd warns about it): allowed only to a relay on 127.0.0.1.
LOOPBACK_PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@LOOPBACK_PLAIN_AUTH
def test_a_newsletter_is_mailed_once_through_the_outbox(tmp_path, openai_url):
    with SmtpServer(user=USER, password=PASSWORD) as server:
        ws = publishing_workspace(tmp_path / "ws", openai_url, smtp_table(server.port), ["mail"], channel="email")
        add_release_notes(ws)
        ws.runner().run(until_idle=True)
        [message] = server.messages
        [publication] = ws.store.query("SELECT * FROM publications")
        assert publication["status"] == "delivered"
        assert publication["remote_id"] == message["Message-ID"]
        assert message["X-Masthead-Delivery"] == publication["idempotency_key"]
        [check] = [r for r in check_publishers(ws, "mail")]
        assert check["ok"] and PASSWORD not in repr(check)
        # An email cannot be unsent: retraction refuses it by name and changes nothing.
        [row] = retract_piece(ws, publication["piece_id"], reason="typo", operator="ana")
        assert (row["publisher"], row["retracted"]) == ("mail", False) and "cannot take a post back" in row["detail"]
        assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
        assert not [e for e in ws.store.read() if e.type == "PublicationRetracted"]
        assert verify(ws.store).ok
        ws.close()


@LOOPBACK_PLAIN_AUTH
def test_a_server_that_takes_the_message_and_never_answers_hands_it_to_a_person(tmp_path, openai_url):
    with SmtpServer(user=USER, password=PASSWORD, stall_seconds=3.0) as server:
        ws = publishing_workspace(tmp_path / "ws", openai_url, smtp_table(server.port, timeout=1.0), ["mail"],
                                  channel="email")
        add_release_notes(ws)
        ws.runner().run(until_idle=True)
        assert len(server.messages) == 1
        [publication] = ws.store.query("SELECT * FROM publications")
        assert publication["status"] == "needs_human"
        assert "may have been delivered by mail" in publication["reason"]
        assert "may have been sent" in publication["reason"]
        # Running again does not send it again: a person decides.
        ws.runner().run(until_idle=True)
        assert len(server.messages) == 1
        log = "".join(repr(e.data) for e in ws.store.read())
        assert PASSWORD not in log and USER not in log
        assert verify(ws.store).ok
        ws.close()
