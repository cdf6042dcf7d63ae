"""Outbound e-mail: messages from templates in the recipient's language (``render.py``), checked so nothing a
visitor typed can add a header (``message.py``), queued durably in Valkey and sent over SMTP by every worker, each
message once (``outbox.py``, ``smtp.py``), to where ``WIDGET_SMTP_URL`` says (``config.py``).

What later features use: ``Mailer.enqueue(org, mail)`` with an ``OutgoingMail``, usually made by ``compose`` (any
template in ``templates/mail/``) or ``notification`` (the generic one)."""

from .message import MailError, OutgoingMail
from .outbox import FailedMail, Mailer, MailOff, OutboxFull
from .render import compose, notification

__all__ = ["FailedMail", "MailError", "MailOff", "Mailer", "OutboxFull", "OutgoingMail", "compose", "notification"]
