"""Issue 13, row 14: webhook secrets are stored encrypted, and key rotation keeps them readable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from contracts.webhook_secrets import SecretBox, SecretUnreadable, derived_key


def test_row14_a_sealed_secret_does_not_contain_the_secret_and_opens_with_the_key() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    sealed = box.seal("whsec-partner-ABC123")
    assert "whsec-partner-ABC123" not in sealed
    assert box.open(sealed) == "whsec-partner-ABC123"
    assert box.secret_of({"secret_enc": sealed}) == "whsec-partner-ABC123"


def test_row14_another_key_cannot_open_it_but_a_rotated_key_list_can() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox(old).seal("s3cret")
    with pytest.raises(SecretUnreadable):
        SecretBox(new).open(sealed)
    assert SecretBox(f"{new},{old}").open(sealed) == "s3cret"


def test_a_dev_key_derived_from_the_notifier_secret_is_a_valid_key() -> None:
    box = SecretBox(derived_key("dev-secret"))
    assert box.open(box.seal("x")) == "x"


def test_a_key_that_is_not_a_fernet_key_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match="UPR_NOTIFIER_SECRETS_KEY"):
        SecretBox("not-a-key")
