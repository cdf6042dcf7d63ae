"""The theming wizard: site owners sign in, edit the widget's look and behaviour beside a live preview of the real
widget, save numbered versions (and restore them), copy the install snippet and see their visitors' numbers.

``pages.py`` holds the routes, ``form.py`` the settings form, ``versions.py`` saving and the preview's drafts,
``sessions.py`` sign-in, sessions and CSRF, ``avatars.py`` uploaded agent avatars."""
