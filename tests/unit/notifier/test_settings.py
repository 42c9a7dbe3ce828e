"""Issue 13, row 8: the notifier refuses to start outside dev mode with secrets nobody chose."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from contracts.settings import InsecureSettings
from contracts.signing import dev_signer
from services.notifier.app import build_app
from services.notifier.settings import PLACEHOLDER_SECRET, NotifierSettings

STRONG = "k3Yq9-a-random-secret-of-forty-bytes-or-so"
KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize(("secret", "key"), [(PLACEHOLDER_SECRET, KEY), ("short-secret", KEY), (STRONG, "")])
def test_row8_the_notifier_refuses_to_start_in_production_with_a_placeholder_or_short_secret(
    secret: str, key: str,
) -> None:
    settings = NotifierSettings(env="production", notifier_secret=secret, notifier_secrets_key=key)
    with pytest.raises(InsecureSettings, match="UPR_NOTIFIER_SECRET"):
        build_app(settings)


def test_row8_with_chosen_secrets_production_starts_and_dev_mode_accepts_the_placeholder() -> None:
    build_app(NotifierSettings(env="production", notifier_secret=STRONG, notifier_secrets_key=KEY,
                               auth_secret=STRONG, command_public_keys=dev_signer("ui").public(),
                               kafka_password=STRONG))
    build_app(NotifierSettings(env="dev", notifier_secret=PLACEHOLDER_SECRET))
