"""The exchange over HTTP: who calls (``auth``), how errors answer (``errors``), the JSON API
(``api/``, one blueprint per area). Handlers parse, call one service function, render."""
