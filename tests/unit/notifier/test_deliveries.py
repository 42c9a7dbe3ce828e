"""The retry schedule and the endpoint a delivery counts against (pure)."""

from __future__ import annotations

import pytest

from services.notifier.domain.deliveries import backoff_delays, is_final_failure, retry_delay
from services.notifier.domain.endpoints import endpoint_key


def test_each_wait_doubles_up_to_the_cap_with_equal_jitter() -> None:
    assert [retry_delay(n, 1.0, 30.0, lambda: 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [retry_delay(n, 1.0, 30.0, lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_delay(10, 1.0, 30.0, lambda: 1.0) == 30.0
    assert backoff_delays(4, 1.0, 30.0, lambda: 0.5) == [retry_delay(n, 1.0, 30.0, lambda: 0.5) for n in (1, 2, 3)]


@pytest.mark.parametrize(("round_attempts", "permanent", "final"), [
    (1, False, False), (3, False, False), (4, False, True), (1, True, True),
])
def test_a_delivery_gives_up_after_its_last_attempt_or_a_permanent_refusal(
    round_attempts: int, permanent: bool, final: bool,
) -> None:
    assert is_final_failure(round_attempts, 4, permanent) is final


def test_deliveries_to_one_host_and_port_share_an_endpoint() -> None:
    assert endpoint_key("https://Partner.example.org/a") == endpoint_key("https://partner.example.org:443/b?x=1")
    assert endpoint_key("https://partner.example.org/a") != endpoint_key("https://partner.example.org:8443/a")
    assert endpoint_key("http://127.0.0.1:9100/hooks") == "http://127.0.0.1:9100"
