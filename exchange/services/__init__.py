"""The exchange's use cases, one module per area. Each public function takes the
``Services`` object first, opens (or is given) its unit of work, commits what it changes and
raises an ``errors.ServiceError`` that leaves everything as it was. The API, the web pages,
the CLI and the worker all call these: no rule lives in an entry point."""
