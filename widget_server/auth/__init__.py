"""Authentication and authorization: token signing (``signing.py``), the token kinds and identities
(``tokens.py``) and the access rules (``access.py``), the only place that decides who may do what."""
