from settings import Settings


def test_pkcs11_settings_come_from_env_and_the_pin_is_not_shown():
    s = Settings.from_env({"LIENTHONG_PKCS11_LIB": "/usr/lib/softhsm/libsofthsm2.so",
                           "LIENTHONG_PKCS11_TOKEN": "so-tai-chinh", "LIENTHONG_PKCS11_PIN": "918273"})
    assert (s.pkcs11_lib, s.pkcs11_token_label, s.pkcs11_pin) == (
        "/usr/lib/softhsm/libsofthsm2.so", "so-tai-chinh", "918273")
    assert "918273" not in repr(s)
    assert Settings.from_env({}).pkcs11_token_label == "lienthong"
