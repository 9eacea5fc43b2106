"""Exchange between workspaces: bundles (``manifest`` the format, ``export``, ``archive`` +
``verify``, ``tables`` the rules a bundle's rows must keep, ``receive``), the submission history a
receiver keeps (``submissions``) and what it makes of the claims (``claims``), signatures
(``signing``) and the agency ↔ certificate trust store (``trust``).
"""
