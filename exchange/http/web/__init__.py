"""The web pages: server-rendered (Jinja templates under ``templates/web``, Flask-WTF forms,
the catalogues' texts), calling the same services as the API. ``routes`` holds the
blueprint, ``forms`` the forms, ``pages`` what every page shares (the login gate, the
texts, dates), ``docs`` the API's interactive documentation served from a package."""
