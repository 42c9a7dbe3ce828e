"""Who may do what, and how assessments turn into status and disagreement."""

from __future__ import annotations

from contracts.events import Actor, Assessor, ImplementationStatus, Role

# Server-side permission rules: the UI hides buttons too, but these decide.
CAN_SUBMIT_EVIDENCE = {Role.CSO_MEMBER, Role.REVIEWER, Role.ADMIN}
CAN_CORRECT_THEMES = {Role.CSO_MEMBER, Role.REVIEWER, Role.ADMIN}
CAN_REVIEW = {Role.REVIEWER, Role.ADMIN}
CAN_EDIT_REPORT = {Role.REVIEWER, Role.ADMIN}
CAN_SET_DEADLINES = {Role.REVIEWER, Role.ADMIN}
CAN_PUBLISH = {Role.REVIEWER, Role.ADMIN}  # a cycle on the public page
CAN_MANAGE_API_KEYS = {Role.ADMIN}  # keys of the read API for partner systems
CAN_ASSESS: dict[Assessor, set[Role]] = {
    Assessor.CSO: {Role.CSO_MEMBER, Role.ADMIN},
    Assessor.CNCC: {Role.REVIEWER, Role.ADMIN},
}


class NotAllowed(Exception):
    pass


def require(actor: Actor | None, allowed: set[Role], action: str) -> Actor:
    if actor is None:
        raise NotAllowed(f"{action}: no user given")
    if actor.role not in allowed:
        raise NotAllowed(f"{action}: role {actor.role.value} may not do this")
    return actor


def disagreement(cso: ImplementationStatus | None, cncc: ImplementationStatus | None) -> bool:
    """CSO and CNCC disagree when both have assessed and the statuses differ."""
    return cso is not None and cncc is not None and cso != cncc


def evidence_needs_review(actor: Actor, safeguarding_flags: list[str]) -> bool:
    """CSO submissions and anything that may identify a child wait for a reviewer."""
    return bool(safeguarding_flags) or actor.role not in CAN_REVIEW
