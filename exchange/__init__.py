"""exchange: agencies, users, documents, dispatch, inbox, lifecycle, audit chain.

In layers, each importing only those below it: ``http`` | ``cli`` → ``services`` →
``adapters`` → ``domain`` (``models`` holds the tables). See DESIGN.md §2.
"""
