"""lienthong-client: an agency's system talking to lienthong over its HTTP API only."""

__version__ = "0.1.0"
