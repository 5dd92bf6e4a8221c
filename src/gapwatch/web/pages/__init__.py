"""The web app's pages, one module per page (or group of pages), each with its ``router``.

Adding a page: write ``pages/<name>.py`` with an ``APIRouter(include_in_schema=False)`` whose
routes take ``ViewerDep`` (the signed-in viewer) and call a service function, a template in
``templates/``, then list the module in :data:`PAGES` and, for the navigation, add a
:class:`~gapwatch.web.render.NavItem` to ``NAV_ITEMS`` below.
"""

from __future__ import annotations

from gapwatch.web.pages import cases, customers, inbox, lifecycle, perspectives, risk, streams
from gapwatch.web.render import NavItem

PAGES = (lifecycle, streams, inbox, cases, customers, perspectives, risk)
NAV_ITEMS = (
    NavItem("Lifecycle", "/", ("/streams/",)),
    NavItem("Inbox", "/inbox", ("/cases/",)),
    NavItem("At risk", "/risk"),
    NavItem("Perspectives", "/perspectives"),
    NavItem("Customers", "/customers", ("/customers/",)),
)
