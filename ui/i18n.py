"""English and Khmer strings for headings, menus and buttons.

User data is never translated here; only the interface's own words. A key missing in
Khmer falls back to English, so a half-translated screen still works.
"""

from __future__ import annotations

LANGUAGES = {"en": "English", "km": "ខ្មែរ"}

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"en": "UPR Tracker", "km": "កម្មវិធីតាមដាន UPR"},
    "login": {"en": "Log in", "km": "ចូលប្រើ"},
    "logout": {"en": "Log out", "km": "ចាកចេញ"},
    "username": {"en": "Username", "km": "ឈ្មោះអ្នកប្រើ"},
    "password": {"en": "Password", "km": "ពាក្យសម្ងាត់"},
    "login_intro": {
        "en": "Follow up Cambodia's UPR recommendations on child rights. Please log in.",
        "km": "តាមដានអនុសាសន៍ UPR របស់កម្ពុជាស្តីពីសិទ្ធិកុមារ។ សូមចូលប្រើ។",
    },
    "login_failed": {"en": "Wrong username or password.", "km": "ឈ្មោះអ្នកប្រើ ឬពាក្យសម្ងាត់មិនត្រឹមត្រូវ។"},
    "login_locked": {
        "en": "Too many failed attempts. Try again in {seconds} seconds.",
        "km": "ព្យាយាមខុសច្រើនដងពេក។ សូមព្យាយាមម្តងទៀតក្នុងរយៈពេល {seconds} វិនាទី។",
    },
    "not_allowed": {
        "en": "Your role ({role}) cannot open this page.",
        "km": "តួនាទីរបស់អ្នក ({role}) មិនអាចបើកទំព័រនេះបានទេ។",
    },
    "not_allowed_hint": {
        "en": "This page is for: {roles}. Ask an administrator if you need it; the menu shows the pages you can open.",
    },
    "evidence_not_allowed": {
        "en": "Your role ({role}) cannot open this evidence item.",
        "km": "តួនាទីរបស់អ្នក ({role}) មិនអាចបើកភស្តុតាងនេះបានទេ។",
    },
    "linked_item": {"en": "The item this link points to", "km": "ធាតុដែលតំណនេះចង្អុលទៅ"},
    "link_to_this": {"en": "Link to this item", "km": "តំណទៅធាតុនេះ"},
    "sign_out_everywhere": {"en": "Sign out everywhere", "km": "ចាកចេញពីគ្រប់កន្លែង"},
    "language": {"en": "Language", "km": "ភាសា"},
    "signed_in_as": {"en": "Signed in as", "km": "បានចូលជា"},
    # pages
    "dashboard": {"en": "Dashboard", "km": "ផ្ទាំងសង្ខេប"},
    "recommendations": {"en": "Recommendations", "km": "អនុសាសន៍"},
    "detail": {"en": "Recommendation detail", "km": "ព័ត៌មានលម្អិតអនុសាសន៍"},
    "add_evidence": {"en": "Add evidence", "km": "បន្ថែមភស្តុតាង"},
    "assess": {"en": "Assess", "km": "វាយតម្លៃ"},
    "review_inbox": {"en": "Review inbox", "km": "ប្រអប់ត្រួតពិនិត្យ"},
    "subscriptions": {"en": "Subscriptions", "km": "ការជូនដំណឹង"},
    "import": {"en": "Import", "km": "នាំចូល"},
    "report": {"en": "Mid-term report", "km": "របាយការណ៍ពាក់កណ្តាលអាណត្តិ"},
    "admin": {"en": "Admin", "km": "រដ្ឋបាល"},
    # common words
    "search": {"en": "Search text (English or Khmer)", "km": "ស្វែងរកអត្ថបទ (អង់គ្លេស ឬខ្មែរ)"},
    "cycle": {"en": "Cycle", "km": "វដ្ត"},
    "theme": {"en": "Theme", "km": "ប្រធានបទ"},
    "themes": {"en": "Themes", "km": "ប្រធានបទ"},
    "position": {"en": "Position", "km": "ជំហរ"},
    "status": {"en": "Status", "km": "ស្ថានភាព"},
    "recommending_state": {"en": "Recommending state", "km": "រដ្ឋផ្តល់អនុសាសន៍"},
    "evidence": {"en": "Evidence", "km": "ភស្តុតាង"},
    "evidence_timeline": {"en": "Evidence timeline", "km": "កាលប្បវត្តិភស្តុតាង"},
    "history": {"en": "History", "km": "ប្រវត្តិ"},
    "assessments": {"en": "Assessments", "km": "ការវាយតម្លៃ"},
    "pending_review": {"en": "pending review", "km": "កំពុងរង់ចាំការត្រួតពិនិត្យ"},
    "submit": {"en": "Submit", "km": "ដាក់ស្នើ"},
    "saved": {"en": "Saved.", "km": "បានរក្សាទុក។"},
    "disagreement": {"en": "CSO and CNCC disagree", "km": "អង្គការសង្គមស៊ីវិល និង ក.ជ.ក មិនយល់ស្របគ្នា"},
    "deadline": {"en": "Deadlines", "km": "កាលកំណត់"},
    "no_results": {"en": "No recommendations match these filters.", "km": "គ្មានអនុសាសន៍ត្រូវនឹងតម្រងទេ។"},
    "safeguarding": {
        "en": "Safeguarding: never include a child's name, age with a name, school, village, phone "
        "number or photo. Evidence that seems to identify a child is held for a reviewer.",
        "km": "ការការពារកុមារ៖ កុំដាក់ឈ្មោះ អាយុជាមួយឈ្មោះ សាលា ភូមិ លេខទូរស័ព្ទ ឬរូបថតរបស់កុមារ។",
    },
}


def t(key: str, language: str = "en", **values: object) -> str:
    """The interface string ``key`` in ``language`` (English when untranslated)."""
    entry = STRINGS.get(key)
    text = key if entry is None else (entry.get(language) or entry["en"])
    return text.format(**values) if values else text
