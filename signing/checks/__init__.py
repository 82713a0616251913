"""Hardening checks run beside pyHanko's validation, one module per class of attack.

Each check is general (it looks at a property every honest file has), never a special case
for one known file:

- `deadline`   — bounded time: validation runs in a worker thread with a deadline.
- `byterange`  — Universal Signature Forgery and Signature Wrapping: /Contents and /ByteRange
                 must be well formed and the gap must hold exactly this signature's /Contents.
- `increments` — Incremental Saving Attack: every object appended after a signed revision must
                 be accounted for by a cross-reference section, nothing may follow the last %%EOF.
- `hidden`     — a signature that an earlier revision shows and the final one no longer does.
- `annotations`— a diff rule that lets comments added after signing through as a named,
                 permitted change (DocMDP still decides), instead of "other"; the diff policy.
- `structure`  — diff rules for what honest fillers and commenters also write: a tagged
                 form's structure tree, a comment's /Names /AP appearance cache.
- `trailer`    — the reader the diff uses: private trailer entries left out, dangling references
                 null, and a number a revision already refers to never counted as fresh.
- `visual`     — shadow attacks: pages a later revision reaches, rendered on screen, in print
                 and in every appearance a viewer may draw, must match outside the areas of
                 fields and annotations changed later, and those may not cover signed ink.
"""
