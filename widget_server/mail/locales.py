"""The mail templates' words in each language the widget speaks (``widget/locales.py``): a message to a visitor is
in the visitor's language. Every language has every key, and every widget language has mail texts (a test checks).
Placeholders (``{site}``, ``{name}``) are filled by the templates with ``str.format``, after which Jinja2 escapes."""

from __future__ import annotations

MAIL_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "transcript_subject": "Your conversation with {site}",
        "greeting": "Hello,",
        "greeting_name": "Hello {name},",
        "open": "Open",
        "reply_hint": "You can reply to this e-mail.",
        "automatic": "This is an automatic message from {site}.",
        "link_hint": "If the button does not work, copy this address into your browser:",
    },
    "de": {
        "transcript_subject": "Ihr Gespräch mit {site}",
        "greeting": "Hallo,",
        "greeting_name": "Hallo {name},",
        "open": "Öffnen",
        "reply_hint": "Sie können auf diese E-Mail antworten.",
        "automatic": "Dies ist eine automatische Nachricht von {site}.",
        "link_hint": "Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:",
    },
    "es": {
        "transcript_subject": "Su conversación con {site}",
        "greeting": "Hola:",
        "greeting_name": "Hola, {name}:",
        "open": "Abrir",
        "reply_hint": "Puede responder a este correo electrónico.",
        "automatic": "Este es un mensaje automático de {site}.",
        "link_hint": "Si el botón no funciona, copie esta dirección en su navegador:",
    },
    "fr": {
        "transcript_subject": "Votre conversation avec {site}",
        "greeting": "Bonjour,",
        "greeting_name": "Bonjour {name},",
        "open": "Ouvrir",
        "reply_hint": "Vous pouvez répondre à cet e-mail.",
        "automatic": "Ceci est un message automatique de {site}.",
        "link_hint": "Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur :",
    },
    "pl": {
        "transcript_subject": "Twoja rozmowa z {site}",
        "greeting": "Dzień dobry,",
        "greeting_name": "Dzień dobry, {name},",
        "open": "Otwórz",
        "reply_hint": "Możesz odpowiedzieć na tę wiadomość.",
        "automatic": "To jest automatyczna wiadomość od {site}.",
        "link_hint": "Jeśli przycisk nie działa, skopiuj ten adres do przeglądarki:",
    },
    "ar": {
        "transcript_subject": "محادثتك مع {site}",
        "greeting": "مرحبًا،",
        "greeting_name": "مرحبًا {name}،",
        "open": "فتح",
        "reply_hint": "يمكنك الرد على هذه الرسالة.",
        "automatic": "هذه رسالة تلقائية من {site}.",
        "link_hint": "إذا لم يعمل الزر، انسخ هذا العنوان في متصفحك:",
    },
}

RTL_LANGUAGES = frozenset({"ar"})
"""Languages written right to left: the HTML part says ``dir="rtl"``."""


def mail_language(lang: str | None) -> str:
    """The mail language for a language tag (``de-AT`` is ``de``); English when there are no texts for it."""
    base = (lang or "").split("-")[0].split("_")[0].lower()
    return base if base in MAIL_TEXTS else "en"
