"""Email through an SMTP server (smtplib): one multipart/alternative message per publication,
the piece's Markdown as the text part and rendered as the HTML part.

The Message-ID is made from the publication key (`<pc-…​.v1.newsletter.mail@sender-domain>`),
so a person can find the message in the sent folder or a recipient's inbox. SMTP cannot be
asked whether it took a message, so exactly once here means at most once by Masthead:

- refused before the end of the message (connection, EHLO, AUTH, MAIL, RCPT, DATA): nothing
  was sent; 4xx is "not now" (retried), 5xx is a refusal, 535 is a refused password;
- no answer after the message's final "." (a timeout, a dropped connection, a crash): the
  server may have taken it. `reconcile` cannot tell, so the publication goes to a person
  ("may have been sent") and is never sent again by itself.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import ClassVar

from masthead.channels.publisher import (
    RECONCILE,
    Capabilities,
    CredentialsRejected,
    Delivery,
    Limits,
    OutcomeUnknown,
    PublicationRejected,
    PublisherBusy,
    PublisherContext,
    Receipt,
)
from masthead.channels.publishers.markup import body_of, markdown_html, title_of
from masthead.config import SmtpPublisherSection
from masthead.errors import ConfigError

# 7bit: every part quoted-printable or base64, so a server without 8BITMIME takes it unchanged.
POLICY = SMTP_POLICY.clone(cte_type="7bit")
DELIVERY_HEADER = "X-Masthead-Delivery"
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")


def message_id(key: str, sender: str) -> str:
    """`<key@domain>` with the key's colons as dots: stable across retries, searchable by a person."""
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else "masthead.invalid"
    local = re.sub(r"\.{2,}", ".", _NOT_ATEXT.sub(".", key.replace(":", "."))).strip(".")
    return f"<{local}@{domain}>"


def recipients_of(delivery: Delivery, settings: SmtpPublisherSection, name: str) -> list[str]:
    """The delivery's own recipients (an outreach email's contact) or else the configured `to`."""
    recipients = list(delivery.to) if delivery.to else list(settings.to or [])
    if not recipients:
        raise ConfigError(f"publisher {name}: piece {delivery.piece_id} names no recipient and the table has no `to`",
                          fix=f"add to = [\"list@example.com\"] to [publishers.{name}] in masthead.toml")
    return recipients


def build_message(delivery: Delivery, settings: SmtpPublisherSection, recipients: list[str]) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["Subject"] = title_of(delivery)
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    sent_at = delivery.requested_at or delivery.at  # the first attempt's time: the same on a retry
    message["Date"] = format_datetime(datetime.fromisoformat(sent_at.replace("Z", "+00:00")))
    message["Message-ID"] = message_id(delivery.key, settings.sender)
    message[DELIVERY_HEADER] = delivery.key
    if settings.list_unsubscribe:
        message["List-Unsubscribe"] = f"<{settings.list_unsubscribe}>"
        if settings.list_unsubscribe.startswith("https://"):
            # RFC 8058 one-click: mail clients POST to the URL; large mailbox providers ask for it.
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    body = body_of(delivery)
    message.set_content(body)
    html = markdown_html(body)
    message.add_alternative(f'<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n{html}</body></html>\n',
                            subtype="html")
    return message


def _data_payload(message: EmailMessage) -> bytes:
    """The DATA section: CRLF lines, a leading dot doubled (RFC 5321 4.5.2), then CRLF.CRLF."""
    raw = message.as_bytes(policy=POLICY)
    raw = re.sub(rb"(?m)^\.", b"..", raw)
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return raw + b".\r\n"


class SmtpPublisher:
    kind: ClassVar[str] = "smtp"
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=RECONCILE, retract=False)
    settings_model: ClassVar[type[SmtpPublisherSection]] = SmtpPublisherSection

    def __init__(self, name: str, settings: SmtpPublisherSection, environ: dict[str, str]):
        self.name = name
        self.settings = settings
        self._environ = environ

    @classmethod
    def from_settings(cls, settings: SmtpPublisherSection, context: PublisherContext) -> SmtpPublisher:
        return cls(context.name, settings, context.environ)

    @property
    def _where(self) -> str:
        return f"publisher {self.name}: {self.settings.host}:{self.settings.port}"

    # -- the session: connect, EHLO, STARTTLS, AUTH ---------------------------------------------
    def _credentials(self) -> tuple[str, str] | None:
        user_env, password_env = self.settings.username_env, self.settings.password_env
        if user_env is None or password_env is None:
            return None
        missing = [env for env in (user_env, password_env) if not self._environ.get(env)]
        if missing:
            raise ConfigError(f"publisher {self.name}: ${', $'.join(missing)} is not set",
                              fix=f"export {user_env}=<the SMTP user> and {password_env}=<its password>")
        return self._environ[user_env], self._environ[password_env]

    def _open(self) -> smtplib.SMTP:
        """A logged-in session, or the error that says what to do; nothing is sent yet."""
        credentials = self._credentials()
        try:
            smtp = smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.settings.timeout_seconds)
        except (OSError, smtplib.SMTPException) as exc:
            raise PublisherBusy(f"{self._where} is unreachable ({type(exc).__name__})") from None
        try:
            self._ehlo(smtp)
            if self.settings.starttls:
                self._starttls(smtp)
            if credentials is not None:
                self._login(smtp, *credentials)
        except BaseException:
            _close(smtp)
            raise
        return smtp

    def _ehlo(self, smtp: smtplib.SMTP) -> None:
        try:
            code, reply = smtp.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            raise PublisherBusy(f"{self._where}: EHLO got no answer ({type(exc).__name__})") from None
        if code != 250:
            raise _refusal(self._where, "EHLO", code, reply)

    def _starttls(self, smtp: smtplib.SMTP) -> None:
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        try:
            smtp.starttls(context=context)
        except smtplib.SMTPNotSupportedError:
            raise ConfigError(f"{self._where} does not offer STARTTLS",
                              fix="use the provider's submission port (587), or starttls = false only for "
                                  "a relay on this machine") from None
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(f"{self._where}: its TLS certificate is not trusted ({exc.verify_message})",
                              fix="set ca_file to the PEM of the CA that signed it") from None
        except smtplib.SMTPResponseException as exc:
            raise _refusal(self._where, "STARTTLS", exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise PublisherBusy(f"{self._where}: STARTTLS failed ({type(exc).__name__})") from None

    def _login(self, smtp: smtplib.SMTP, user: str, password: str) -> None:
        env = self.settings.password_env or ""
        try:
            smtp.login(user, password)
        except smtplib.SMTPAuthenticationError as exc:
            if 400 <= exc.smtp_code < 500:
                raise PublisherBusy(f"{self._where}: AUTH failed for now ({exc.smtp_code})") from None
            raise CredentialsRejected(self.name, env, f"SMTP {exc.smtp_code}") from None
        except smtplib.SMTPNotSupportedError:
            raise ConfigError(f"{self._where} does not offer AUTH on this connection",
                              fix="set starttls = true (servers offer AUTH only after it), or remove "
                                  "username_env and password_env for a relay that needs no login") from None
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise PublisherBusy(f"{self._where}: AUTH got no answer ({type(exc).__name__})") from None

    # -- the protocol -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Receipt:
        recipients = recipients_of(delivery, self.settings, self.name)
        message = build_message(delivery, self.settings, recipients)
        smtp = self._open()
        try:
            refused = self._transfer(smtp, message, recipients, hidden=tuple(delivery.to or ()))
        finally:
            _close(smtp)
        if delivery.to:
            # The piece's own recipient is a person (an outreach contact): the receipt goes into
            # the log, where their address must not (it is sealed with their key).
            location = f"email {message['Message-ID']} to the piece's recipient"
            return Receipt(location=location, remote_id=str(message["Message-ID"]))
        location = f"email {message['Message-ID']} to {', '.join(r for r in recipients if r not in refused)}"
        if refused:
            location += f" (refused by the server: {', '.join(refused)})"
        return Receipt(location=location, remote_id=str(message["Message-ID"]))

    def _transfer(self, smtp: smtplib.SMTP, message: EmailMessage, recipients: list[str],
                  hidden: tuple[str, ...] = ()) -> list[str]:
        """MAIL, RCPT, DATA; the recipients the server refused (the others got the message).
        A server's answer naming a `hidden` address says "<recipient>" instead in the error."""
        try:
            self._expect(smtp.mail(parseaddr(self.settings.sender)[1]), 250, "MAIL FROM")
            answers = {to: smtp.rcpt(parseaddr(to)[1]) for to in recipients}
            refused = [to for to, (code, _) in answers.items() if code not in (250, 251)]
            if len(refused) == len(answers):
                code, reply = min(answers.values())  # a 4xx among them: worth trying again later
                raise _refusal(self._where, "RCPT TO", code, reply, hidden)
            self._expect(smtp.docmd("DATA"), 354, "DATA", hidden)
            smtp.send(_data_payload(message))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            # The final "." was not sent: the server cannot have taken the message.
            raise PublisherBusy(f"{self._where}: the connection failed before the message was sent "
                                f"({type(exc).__name__})") from None
        try:
            answer = smtp.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise OutcomeUnknown(f"{self._where}: no answer after the message was sent ({type(exc).__name__}); "
                                 "it may have been sent") from None
        self._expect(answer, 250, "the message", hidden)
        return refused

    def _expect(self, answer: tuple[int, bytes], code: int, step: str, hidden: tuple[str, ...] = ()) -> None:
        if answer[0] != code:
            raise _refusal(self._where, step, *answer, hidden)

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        return None  # an SMTP server cannot be asked what it took: a person decides

    def retract(self, receipt: Receipt) -> None:
        raise PublicationRejected(f"publisher {self.name}: an email cannot be unsent ({receipt.remote_id})",
                                  fix="send a correction as a new piece")

    def limits(self) -> Limits:
        return Limits()

    def check(self) -> str:
        smtp = self._open()
        _close(smtp)
        login = f"logged in with ${self.settings.username_env}" if self.settings.username_env else "no login"
        tls = "STARTTLS" if self.settings.starttls else "no TLS"
        return f"{self.settings.host}:{self.settings.port} ({tls}, {login})"


def _refusal(where: str, step: str, code: int, reply: bytes | str, hidden: tuple[str, ...] = ()) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    for address in hidden:
        text = re.sub(re.escape(parseaddr(address)[1] or address), "<recipient>", text, flags=re.IGNORECASE)
    detail = f"{where}: {step} answered {code} {text[:200]}"
    if 400 <= code < 500:
        return PublisherBusy(detail)
    return PublicationRejected(detail, fix="read the server's message; fix the addresses or the publisher's settings")


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
