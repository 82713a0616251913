"""exchange's tables (SQLModel)."""
from __future__ import annotations
