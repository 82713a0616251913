"""``flask`` commands for the exchange, one module per group. Each command parses its
arguments, calls one service function and prints; a refusal ends it with its message and
exit code 1."""
