"""Which pages exist and which roles may open each. The sidebar shows only the pages a role
may open; each page also checks the same roles itself at its top (``require_role``)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import Role
from contracts.ui_addresses import DETAIL_PATH, REPORT_PATH, REVIEW_PATH

ALL_ROLES = (Role.VIEWER, Role.CSO_MEMBER, Role.REVIEWER, Role.ADMIN)
CONTRIBUTORS = (Role.CSO_MEMBER, Role.REVIEWER, Role.ADMIN)
REVIEWERS = (Role.REVIEWER, Role.ADMIN)
ADMINS = (Role.ADMIN,)


@dataclass(frozen=True)
class PageSpec:
    key: str  # i18n key of the title
    file: str  # relative to ui/
    url_path: str
    icon: str
    roles: tuple[Role, ...]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("dashboard", "pages/dashboard.py", "dashboard", ":material/monitoring:", ALL_ROLES),
    PageSpec("recommendations", "pages/recommendations.py", "recommendations", ":material/list:", ALL_ROLES),
    PageSpec("detail", "pages/detail.py", DETAIL_PATH, ":material/description:", ALL_ROLES),
    PageSpec("add_evidence", "pages/add_evidence.py", "add-evidence", ":material/note_add:", CONTRIBUTORS),
    PageSpec("assess", "pages/assess.py", "assess", ":material/rule:", CONTRIBUTORS),
    PageSpec("review_inbox", "pages/review_inbox.py", REVIEW_PATH, ":material/inbox:", REVIEWERS),
    PageSpec("subscriptions", "pages/subscriptions.py", "subscriptions", ":material/notifications:", ALL_ROLES),
    PageSpec("import", "pages/import_file.py", "import", ":material/upload_file:", REVIEWERS),
    PageSpec("report", "pages/report.py", REPORT_PATH, ":material/article:", REVIEWERS),
    PageSpec("admin", "pages/admin.py", "admin", ":material/admin_panel_settings:", ADMINS),
)


def roles_for(key: str) -> tuple[Role, ...]:
    return next(p.roles for p in PAGES if p.key == key)


def pages_for(role: Role) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]
