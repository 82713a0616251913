"""What the exchange's services use to reach the outside: gapless counters, wake-ups for
long-polls (LISTEN/NOTIFY, the SQLite watcher), in-process caches, the audit chain with its
outbox, and the ports ``certs`` declares. No Flask, and nothing from the services above."""
