"""Email text from Jinja2 templates (services/notifier/templates/<lang>/), plain text + HTML.

HTML templates autoescape: an evidence title is user input and lands in an email."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LANGUAGES = ("en", "km")

MILESTONES = {
    "en": {"mid_term_report_due": "Mid-term report"},
    "km": {"mid_term_report_due": "របាយការណ៍ពាក់កណ្តាលអាណត្តិ"},
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class EmailTemplates:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(
        self, *, language: str, items: Sequence[Mapping[str, Any]], subscription_id: str,
        unsubscribe_url: str, digest: bool = False, frequency: str = "immediate",
    ) -> RenderedEmail:
        lang = language if language in LANGUAGES else "en"
        prepared = [self._prepare(item, lang) for item in items]
        context = {"items": prepared, "subscription_id": subscription_id, "unsubscribe_url": unsubscribe_url,
                   "digest": digest, "frequency": frequency}
        subject = self.env.get_template(f"{lang}/subject.txt.j2").render(context)
        return RenderedEmail(
            subject=" ".join(subject.split())[:200],
            text=self.env.get_template(f"{lang}/alert.txt.j2").render(context),
            html=self.env.get_template(f"{lang}/alert.html.j2").render(context),
        )

    def render_confirmation(
        self, *, language: str, email: str, confirm_url: str, unsubscribe_url: str, days: int = 3,
    ) -> RenderedEmail:
        """The double opt-in email: one link that confirms the address."""
        lang = language if language in LANGUAGES else "en"
        context = {"email": email, "confirm_url": confirm_url, "unsubscribe_url": unsubscribe_url, "days": days}
        return RenderedEmail(
            subject=" ".join(self.env.get_template(f"{lang}/confirm_subject.txt.j2").render(context).split()),
            text=self.env.get_template(f"{lang}/confirm.txt.j2").render(context),
            html=self.env.get_template(f"{lang}/confirm.html.j2").render(context),
        )

    def render_telegram(self, *, language: str, item: Mapping[str, Any]) -> str:
        """One short Telegram alert, in both languages (the subscriber's first), with its link."""
        lang = language if language in LANGUAGES else "en"
        text = self.env.get_template("telegram.txt.j2").render(language=lang, item=self._prepare(item, lang))
        return text.strip()[:4000]  # Telegram's limit is 4096 characters

    @staticmethod
    def _prepare(item: Mapping[str, Any], lang: str) -> dict[str, Any]:
        details = {str(k): str(v) for k, v in dict(item.get("details") or {}).items()}
        milestone = details.get("milestone", "")
        details.setdefault("milestone_label", MILESTONES[lang].get(milestone, milestone.replace("_", " ")))
        for name in ("title", "before", "after", "assessor", "themes", "due_on", "days_left", "cycle",
                     "days", "position"):
            details.setdefault(name, "")
        return {"kind": item["kind"], "recommendation_ids": list(item.get("recommendation_ids") or []),
                "details": details, "url": item.get("url", "")}
