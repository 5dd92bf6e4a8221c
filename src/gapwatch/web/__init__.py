"""The web app: server-rendered pages over the same service functions as the API.

Pages (``gapwatch.web.pages``): the lifecycle map with the overview numbers and the NPS
(``/``), a stream's charts (``/streams/{id}``), the silo inbox (``/inbox``), a case
(``/cases/{id}``), the customer view (``/customers``). Sign-in is a server-side session
(``gapwatch.web.auth``). Templates are Jinja2; the only script is the vendored htmx.
"""

from __future__ import annotations

from gapwatch.web.app import install_web

__all__ = ["install_web"]
