"""Alert emails in English and Khmer, safe HTML, signed unsubscribe links."""

from __future__ import annotations

from services.notifier.adapters.email import build_message
from services.notifier.adapters.templates import EmailTemplates

ITEM = {"kind": "new_evidence", "recommendation_ids": ["KHM-4-110.23"],
        "details": {"title": "Law <script>alert(1)</script> & decree"}, "url": "https://upr.example.org/?r=1"}


def render(language: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return EmailTemplates().render(language=language, items=[ITEM], subscription_id="sub-000001",
                                   unsubscribe_url="https://upr.example.org/unsubscribe?token=abc", **kwargs)


def test_english_alert_names_the_news_and_the_recommendation() -> None:
    email = render("en")
    assert email.subject == "[UPR Tracker] New evidence: KHM-4-110.23"
    assert "KHM-4-110.23" in email.text and "Unsubscribe: https://upr.example.org/unsubscribe?token=abc" in email.text


def test_khmer_alert_is_in_khmer_script() -> None:
    email = render("km")
    assert "ភស្តុតាងថ្មី" in email.subject
    assert "អនុសាសន៍" in email.text and "ឈប់ជាវ" in email.html
    assert '<html lang="km">' in email.html


def test_html_escapes_user_text_while_plain_text_keeps_it_verbatim() -> None:
    email = render("en")
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "Law <script>alert(1)</script> & decree" in email.text


def test_unknown_language_falls_back_to_english() -> None:
    assert render("fr").subject.startswith("[UPR Tracker] New evidence")


def test_digest_subject_counts_the_alerts() -> None:
    email = EmailTemplates().render(language="en", items=[ITEM, ITEM, ITEM], subscription_id="s",
                                    unsubscribe_url="u", digest=True, frequency="weekly")
    assert email.subject == "[UPR Tracker] Your weekly digest: 3 alert(s)"


def test_status_change_uses_the_users_words_for_statuses() -> None:
    item = {"kind": "status_change", "recommendation_ids": ["KHM-4-110.23"],
            "details": {"assessor": "cncc", "before": "in_progress", "after": "fully_implemented"}}
    email = EmailTemplates().render(language="km", items=[item], subscription_id="s", unsubscribe_url="u")
    assert "កំពុងអនុវត្ត → បានអនុវត្តពេញលេញ" in email.text


def test_message_is_multipart_with_a_stable_message_id_and_one_line_list_unsubscribe() -> None:
    long_url = "https://upr.example.org/unsubscribe?token=" + "x" * 120
    message = build_message("UPR <a@b.org>", "dara@example.org", render("km"), delivery_id="d-1",
                            unsubscribe_url=long_url)
    assert message["Message-ID"] == "<d-1@upr-tracker>"
    assert message.get_content_type() == "multipart/alternative"
    assert f"List-Unsubscribe: <{long_url}>" in message.as_string()


def test_telegram_alert_is_short_in_both_languages_and_links_the_recommendation() -> None:
    item = {"kind": "new_evidence", "recommendation_ids": ["KHM-4-110.23"], "details": {"title": "ច្បាប់ការពារកុមារ"},
            "url": "https://upr.example.org/detail?id=KHM-4-110.23"}
    english = EmailTemplates().render_telegram(language="en", item=item)
    khmer = EmailTemplates().render_telegram(language="km", item=item)
    assert english.splitlines()[0] == "New evidence · ភស្តុតាងថ្មី"
    assert khmer.splitlines()[0] == "ភស្តុតាងថ្មី · New evidence"
    assert english.endswith("https://upr.example.org/detail?id=KHM-4-110.23") and "ច្បាប់ការពារកុមារ" in english
    assert len(english) < 300
