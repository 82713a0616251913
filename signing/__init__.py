"""signing: a library for PAdES signing (levels, profiles, visible stamps, remote signing) and
verification reports. It knows nothing of the web, the database or the exchange."""
