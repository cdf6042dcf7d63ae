"""The theming wizard: site owners sign in, edit the widget's look and behaviour beside a live preview of the real
widget, save numbered versions (and restore them), copy the install snippet and see their visitors' numbers.

``pages.py`` holds the routes, ``form.py`` the settings form, ``sessions.py`` the sign-in cookies and the checks of
a request. What the pages work on is the widget's (``widget/``: versions, drafts, avatars, themes) and ``auth/``'s
(owners' sessions)."""
