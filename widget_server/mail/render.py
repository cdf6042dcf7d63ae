"""Messages from templates: ``templates/mail/<name>.txt`` (the plain-text part) and ``<name>.html`` (the HTML part,
autoescaped: the shared environment of ``web/templates.py`` escapes every ``.html`` template), both rendered with the
same context plus ``t``, the language's texts (``locales.py``), and ``lang``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..web.templates import templates
from .locales import MAIL_TEXTS, RTL_LANGUAGES, mail_language
from .message import MailError, OutgoingMail, check


def compose(template: str, *, to: list[str], subject: str, lang: str | None, context: Mapping[str, Any],
            reply_to: str | None = None, in_reply_to: str | None = None, references: list[str] | None = None,
            headers: Mapping[str, str] | None = None, id: str = "") -> OutgoingMail:
    """An OutgoingMail whose parts are ``template`` rendered in ``lang`` (a language tag; English when the mail has
    no texts for it). MailError when the result may not be sent (``message.check``)."""
    lang = mail_language(lang)
    values = {**context, "t": MAIL_TEXTS[lang], "lang": lang, "subject": subject,
              "dir": "rtl" if lang in RTL_LANGUAGES else "ltr"}
    text = templates.get_template(f"mail/{template}.txt").render(values)
    html = templates.get_template(f"mail/{template}.html").render(values)
    mail = OutgoingMail(to=list(to), subject=subject, text=text, html=html, lang=lang, reply_to=reply_to,
                        in_reply_to=in_reply_to, references=list(references or ()), headers=dict(headers or {}), id=id)
    check(mail)
    return mail


def notification(*, to: list[str], subject: str, lang: str | None, site: str, paragraphs: list[str],
                 name: str | None = None, action_url: str | None = None, action_label: str | None = None,
                 reply_to: str | None = None, id: str = "", headers: Mapping[str, str] | None = None) -> OutgoingMail:
    """The generic notification (``templates/mail/notification.*``): a greeting (by ``name`` when known),
    ``paragraphs`` of plain text, an optional button to ``action_url``, and a footer saying it comes from ``site``
    (and that a reply reaches someone when ``reply_to`` is set); ``headers`` as ``compose`` takes them."""
    if action_url is not None and not action_url.startswith(("https://", "http://")):
        raise MailError("action_url must be an http(s) URL")  # never javascript: or data: in a button
    context = {"site": site, "name": name, "paragraphs": paragraphs, "action_url": action_url,
               "action_label": action_label, "replyable": reply_to is not None}
    return compose("notification", to=to, subject=subject, lang=lang, reply_to=reply_to, id=id, headers=headers,
                   context=context)
