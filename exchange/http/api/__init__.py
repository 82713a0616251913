"""The JSON API under ``/api/v1``, one module (blueprint and schemas) per area."""
