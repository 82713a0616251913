import pytest
from cryptography.exceptions import InvalidTag

from exchange.adapters.sealed_secrets import SecretBox

KEY = b"k" * 32


def test_a_sealed_secret_opens_to_itself_and_is_never_the_same_text_twice() -> None:
    box = SecretBox(KEY, "webhook")
    first, second = box.seal("bí mật"), box.seal("bí mật")
    assert first != second and first.startswith("v1:") and "bí mật" not in first
    assert box.open(first) == box.open(second) == "bí mật"


def test_a_webhook_token_sealed_fits_its_column() -> None:
    assert len(SecretBox(KEY, "webhook").seal("x" * 43)) <= 100


@pytest.mark.parametrize("other", [SecretBox(b"o" * 32, "webhook"), SecretBox(KEY, "another purpose")])
def test_another_key_or_purpose_does_not_open_it(other: SecretBox) -> None:
    with pytest.raises(InvalidTag):
        other.open(SecretBox(KEY, "webhook").seal("bí mật"))


def test_a_changed_or_unsealed_value_does_not_open() -> None:
    box = SecretBox(KEY, "webhook")
    sealed = box.seal("bí mật")
    changed = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(InvalidTag):
        box.open(changed)
    with pytest.raises(ValueError):
        box.open("whsec_plain")
