"""Gateway: the HTTP API (JSON under /api/v1), log-in and sessions, OpenAPI, the web page."""
