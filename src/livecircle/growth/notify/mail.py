"""Notification e-mails: multipart text + HTML in UTF-8, with the one-click unsubscribe
headers of RFC 8058 (``List-Unsubscribe`` + ``List-Unsubscribe-Post``)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from livecircle.config import SmtpSettings

Translate = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class MailContent:
    title: str
    body: str
    url: str  # what the notification is about, absolute
    kind_label: str  # translated
    unsubscribe_url: str
    settings_url: str


def compose(
    content: MailContent, translate: Translate, *, sender: str, to: str, message_id: str
) -> EmailMessage:
    """The message for ``to``. ``message_id`` stays the same when a delivery is retried, so a
    mail system that got it twice can tell."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = content.title
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{content.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_text(content, translate))
    message.add_alternative(_html(content, translate), subtype="html")
    return message


def _text(content: MailContent, translate: Translate) -> str:
    lines = [content.title, "", content.body, ""] if content.body else [content.title, ""]
    if content.url:
        lines += [f"{translate('Open')}: {content.url}", ""]
    return "\n".join(
        [
            *lines,
            "-- ",
            translate("You get these e-mails for: %(kind)s.") % {"kind": content.kind_label},
            f"{translate('Unsubscribe with one click')}: {content.unsubscribe_url}",
            f"{translate('All notification settings')}: {content.settings_url}",
            "",
        ]
    )


def _html(content: MailContent, translate: Translate) -> str:
    e = html.escape
    why = translate("You get these e-mails for: %(kind)s.") % {"kind": content.kind_label}
    parts = [f'<!doctype html><html><head><meta charset="utf-8"></head><body><h2>{e(content.title)}</h2>']
    if content.body:
        parts.append(f"<p>{e(content.body)}</p>")
    if content.url:
        parts.append(f'<p><a href="{e(content.url)}">{e(translate("Open"))}</a></p>')
    parts.append(
        f'<hr><p style="color:#666;font-size:12px">{e(why)}<br>'
        f'<a href="{e(content.unsubscribe_url)}">{e(translate("Unsubscribe with one click"))}</a> · '
        f'<a href="{e(content.settings_url)}">{e(translate("All notification settings"))}</a></p>'
        "</body></html>"
    )
    return "".join(parts)


def compose_transactional(
    *, title: str, body: str, url: str, link_label: str, sender: str, to: str, message_id: str
) -> EmailMessage:
    """A one-off message about the recipient's own request (a confirmation link): no list,
    so no unsubscribe headers; text + HTML like the notifications."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = title
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join([title, "", body, "", f"{link_label}: {url}", ""]))
    e = html.escape
    message.add_alternative(
        f'<!doctype html><html><head><meta charset="utf-8"></head><body><h2>{e(title)}</h2>'
        f'<p>{e(body)}</p><p><a href="{e(url)}">{e(link_label)}</a></p></body></html>',
        subtype="html",
    )
    return message


async def send(message: EmailMessage, smtp: SmtpSettings) -> None:
    """Hand ``message`` to the configured SMTP server."""
    await aiosmtplib.send(
        message,
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.username or None,
        password=smtp.password or None,
        start_tls=smtp.starttls,
        timeout=smtp.timeout_seconds,
    )
