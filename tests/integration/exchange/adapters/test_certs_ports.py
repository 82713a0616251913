"""exchange's implementation of certs' Directory protocol."""
from __future__ import annotations

import pytest

from tests.db import session_scope
from tests.exchange_fixtures import build_world


def test_directory_for_certs(app, engine):
    from certs.ports import Directory

    with session_scope(engine, write=True) as s:
        build_world(s)
    directory = app.extensions["lienthong.directory"]
    assert isinstance(directory, Directory)
    person = directory.person("lanhdao.tinh")
    assert (person.full_name, person.agency_code, person.agency_name) == ("Trần Văn Ánh", "000.00.00.H62",
                                                                          "UBND tỉnh Thử Nghiệm")
    assert directory.agency("000.00.00.H63").name == "UBND tỉnh Bên Cạnh"
    with pytest.raises(LookupError):
        directory.person("không-có")
    with pytest.raises(LookupError):
        directory.agency("999.99.99.H99")
