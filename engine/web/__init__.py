"""The investigator workbench: a local web page over the alert store.

`make_server(db)` builds a standard-library HTTP server (not started); `moneytrail serve`
runs one. Pages are rendered on the server with one escaping function (`markup.esc`); the
network view reads JSON from the server and draws it with the vendored Cytoscape.js.
"""

from engine.web.context import Context, load_context
from engine.web.server import App, WorkbenchServer, make_server

__all__ = ["App", "Context", "WorkbenchServer", "load_context", "make_server"]
