"""Issue 14, preview before commit: what an import would do, from the tracker's state, storing
nothing; and OHCHR's annotation id (recommendation.imported v2) filled in by the merge."""

from __future__ import annotations

from contracts.events import Position, RecommendationImportedV1, RecommendationImportedV2, make_event, parse_event
from services.tracker import handlers
from services.tracker.domain.merging import merge_import
from services.tracker.domain.recommendations import content_of
from services.tracker.import_preview import preview_imports
from tests.unit.tracker.test_batch_imports import FakeRepo, deps
from tests.unit.tracker.test_match_reviews import GREY
from tests.unit.tracker.test_merging import HASH_ID, TEXT, envelope_of, row, stored


def annotated(payload: RecommendationImportedV1, annotation: str = "1000042") -> RecommendationImportedV2:
    return RecommendationImportedV2(**payload.model_dump(), annotation_id=annotation)


async def test_the_preview_says_what_an_import_would_do_and_stores_nothing() -> None:
    repo = FakeRepo()
    await handlers.recommendations_imported([envelope_of(row())], deps(repo))
    before = (dict(repo.recs), dict(repo.versions))
    rows = [
        row(import_id="imp-again"),  # the same row again
        row("KHM-1-82.32h", fmt="upr_info_clean_csv", paragraph="82.32", import_id="imp-clean", n=2),
        row("KHM-1-x2222222222", fmt="cso_sheet", text=GREY, import_id="imp-cso", n=3),
        row("KHM-1-x3333333333", text="Ratify the Optional Protocol on torture", states=("NOR",),
            import_id="imp-new", n=4),
    ]
    outcomes = await preview_imports(repo, rows)  # type: ignore[arg-type]
    assert [o["outcome"] for o in outcomes] == ["unchanged", "updated", "ambiguous", "created"]
    assert outcomes[1]["recommendation_id"] == "KHM-1-82.32h" and outcomes[1]["row"] == 2
    # Row 2 would have upgraded the id first: the preview follows the rows in order, as the import does.
    assert outcomes[2]["ambiguous"]["candidates"][0]["recommendation_id"] == "KHM-1-82.32h"
    assert HASH_ID not in {o["recommendation_id"] for o in outcomes[1:]}
    assert (repo.recs, repo.versions) == before and not repo.reviews


async def test_the_preview_reports_a_conflict_between_sources() -> None:
    repo = FakeRepo()
    await handlers.recommendations_imported([envelope_of(row())], deps(repo))
    (outcome,) = await preview_imports(repo, [row("KHM-1-82.32h", fmt="uhri_xlsx", paragraph="82.32",  # type: ignore[arg-type]
                                                  position=Position.NOTED, import_id="imp-uhri")])
    assert outcome["conflicts"] == {"position": {"upr_info_csv": "Supported", "uhri_xlsx": "Noted"}}


def test_v1_and_v2_of_recommendation_imported_are_both_read() -> None:
    v1 = row()
    _, parsed1 = parse_event(make_event(v1, source="ingest").to_bytes())
    envelope, parsed2 = parse_event(make_event(annotated(v1), source="ingest").to_bytes())
    assert type(parsed1) is RecommendationImportedV1 and envelope.version == 2
    assert isinstance(parsed2, RecommendationImportedV2) and parsed2.annotation_id == "1000042"


def test_a_source_without_the_annotation_id_keeps_the_hash_it_had() -> None:
    assert "annotation_id" not in content_of(row())
    assert content_of(annotated(row()))["annotation_id"] == "1000042"


def test_the_annotation_id_fills_in_from_the_source_that_has_it_and_stays() -> None:
    first = stored(row())
    uhri = annotated(row("KHM-1-82.32", fmt="uhri_xlsx", paragraph="82.32", text=f"82.32 {TEXT} (Spain)",
                         import_id="imp-uhri"))
    decision = merge_import(first, uhri)
    assert decision.outcome == "updated" and decision.content["annotation_id"] == "1000042"
    assert any(c.field == "annotation_id" and c.after == "1000042" for c in decision.changes)
    merged = {**first, **decision.content, **decision.meta, "version": decision.version,
              "content_hash": decision.content_hash}
    # UPR Info's file again (no annotation id): nothing changes, the id stays.
    again = merge_import(merged, row(import_id="imp-raw-2"))
    assert again.outcome == "unchanged" and again.content["annotation_id"] == "1000042"


async def test_the_batch_handler_stores_the_annotation_id_of_a_v2_row() -> None:
    repo = FakeRepo()
    await handlers.recommendations_imported([envelope_of(row())], deps(repo))
    (outcome,) = await handlers.recommendations_imported([envelope_of(annotated(row(
        "KHM-1-82.32h", fmt="uhri_xlsx", paragraph="82.32", import_id="imp-uhri")))], deps(repo))
    assert outcome is not None and outcome.outcome == "updated"
    assert repo.recs["KHM-1-82.32h"]["annotation_id"] == "1000042"


def test_the_preview_endpoint_takes_reviewers_and_valid_rows_only() -> None:
    from starlette.testclient import TestClient

    from contracts.auth import RequireToken, issue_token
    from contracts.events import Actor, Role
    from services.tracker.adapters.http import http_api
    from services.tracker.settings import TrackerSettings

    settings = TrackerSettings()
    client = TestClient(RequireToken(http_api(settings), secret=settings.auth_secret))

    def as_(role: Role) -> dict[str, str]:
        return {"authorization": f"Bearer {issue_token(settings.auth_secret, Actor(username='u', role=role))}"}

    body = {"rows": [row().model_dump(mode="json")]}
    assert client.post("/imports/preview", json=body).status_code == 401
    assert client.post("/imports/preview", json=body, headers=as_(Role.CSO_MEMBER)).status_code == 403
    bad = client.post("/imports/preview", json={"rows": [{**body["rows"][0], "position": "Maybe"}]},
                      headers=as_(Role.REVIEWER))
    assert bad.status_code == 400 and "position" in bad.json()["error"]
