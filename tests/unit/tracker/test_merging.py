"""One recommendation from several sources: the merge rules on the domain, and the batch
handler on a fake repository (id upgrade, alias, conflict, ambiguity, redelivery)."""

from __future__ import annotations

from typing import Any

from contracts.events import (
    EventEnvelope,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    SourceRef,
    make_event,
)
from services.tracker import handlers
from services.tracker.domain.merging import merge_import, new_meta, stored_meta
from services.tracker.domain.recommendations import decide_import
from tests.unit.tracker.test_batch_imports import FakeRepo, deps

TEXT = "Deepen its actions in fighting against child prostitution and trafficking of minors"
HASH_ID = "KHM-1-x0c13d35a59"


def row(rec_id: str = HASH_ID, *, fmt: str = "upr_info_csv", text: str = TEXT, import_id: str = "imp-raw",
        paragraph: str | None = None, symbol: str | None = None, position: Position = Position.SUPPORTED,
        themes: list[str] | None = None, states: tuple[str, ...] = ("ESP",), n: int = 1,
        ) -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id=rec_id, country="KHM", cycle=1, session=6, paragraph=paragraph, document_symbol=symbol,
        text=text, recommending_states=[RecommendingState(code=s, name=s) for s in states], position=position,
        source_themes=themes or [], source=SourceRef(format=fmt, file_name=f"{fmt}.file", row=n),
        import_id=import_id)


def stored(payload: RecommendationImportedV1) -> dict[str, Any]:
    decision = decide_import(None, payload)
    return {"_id": payload.recommendation_id, "country": "KHM", "cycle": 1, **decision.content,
            "version": 1, "content_hash": decision.content_hash, "source": payload.source.model_dump(mode="json"),
            **new_meta(payload)}


def envelope_of(payload: RecommendationImportedV1) -> handlers.Imported:
    envelope: EventEnvelope = make_event(payload, source="ingest", correlation_id=payload.import_id)
    return handlers.Imported(envelope, payload)


# --- the rules, on plain dicts ------------------------------------------------------------


def test_a_paragraph_source_fills_the_gaps_and_upgrades_the_hash_id_keeping_it_as_an_alias() -> None:
    raw = stored(row())
    decision = merge_import(raw, row("KHM-1-82.32h", fmt="upr_info_clean_csv", paragraph="82.32",
                                     symbol="A/HRC/13/4", import_id="imp-clean"))
    assert decision.outcome == "updated" and decision.version == 2
    assert (decision.recommendation_id, decision.retired_id) == ("KHM-1-82.32h", HASH_ID)
    assert decision.meta["aliases"] == [HASH_ID]
    assert decision.content["paragraph"] == "82.32" and decision.content["document_symbol"] == "A/HRC/13/4"
    assert set(decision.meta["sources"]) == {"upr_info_csv", "upr_info_clean_csv"}  # who said what
    assert decision.meta["conflicts"] == {}


def test_another_source_wording_keeps_the_stored_text_and_adds_its_themes() -> None:
    first = stored(row("KHM-1-82.32h", fmt="upr_info_clean_csv", paragraph="82.32"))
    un_text = f"82.32. {TEXT} (Spain);"
    decision = merge_import(first, row("KHM-1-82.32", fmt="uhri_xlsx", paragraph="82.32", text=un_text,
                                       themes=["Children: protection against exploitation"], import_id="imp-uhri"))
    assert decision.recommendation_id == "KHM-1-82.32h" and decision.retired_id is None
    assert decision.content["text"] == TEXT
    assert decision.meta["sources"]["uhri_xlsx"]["text"] == un_text
    assert decision.content["source_themes"] == ["Children: protection against exploitation"]
    assert decision.meta["aliases"] == []  # a paragraph id of a grouped row is no alias


def test_two_sources_giving_different_positions_keep_the_first_and_show_the_conflict() -> None:
    first = stored(row())
    decision = merge_import(first, row("KHM-1-82.32h", fmt="uhri_xlsx", paragraph="82.32",
                                       position=Position.NOTED, import_id="imp-uhri"))
    assert decision.content["position"] == "Supported"
    assert decision.meta["conflicts"] == {"position": {"upr_info_csv": "Supported", "uhri_xlsx": "Noted"}}
    assert any(c.field == "conflicts" for c in decision.changes)


def test_a_source_correcting_its_own_position_is_a_new_version_not_a_conflict() -> None:
    first = stored(row())
    decision = merge_import(first, row(position=Position.NOTED, import_id="imp-raw-2"))
    assert decision.content["position"] == "Noted" and decision.meta["conflicts"] == {}
    assert [c.field for c in decision.changes] == ["position"]


def test_the_same_row_again_changes_nothing() -> None:
    first = stored(row())
    assert merge_import(first, row(import_id="imp-raw-2")).outcome == "unchanged"


def test_a_recommendation_from_one_source_is_stored_without_a_copy_of_what_it_said() -> None:
    single = stored(row())
    compact = stored_meta(single)
    assert "sources" not in compact and "field_sources" not in compact  # the document says it all
    # ... and the rules read the same from it: the same row changes nothing, its own correction
    # is a new version, another source's different position is a conflict naming both.
    assert merge_import(compact, row(import_id="imp-raw-2")).outcome == "unchanged"
    corrected = merge_import(compact, row(position=Position.NOTED, import_id="imp-raw-2"))
    assert [c.field for c in corrected.changes] == ["position"] and corrected.meta["conflicts"] == {}
    uhri = row("KHM-1-82.32h", fmt="uhri_xlsx", paragraph="82.32", position=Position.NOTED, import_id="imp-uhri")
    other = merge_import(compact, uhri)
    assert other.meta["sources"] == merge_import(single, uhri).meta["sources"]
    assert other.meta["conflicts"] == {"position": {"upr_info_csv": "Supported", "uhri_xlsx": "Noted"}}


def test_the_same_words_from_a_second_source_are_recorded_as_its_word() -> None:
    compact = stored_meta(stored(row()))
    decision = merge_import(compact, row(fmt="upr_info_clean_csv", import_id="imp-clean"))
    assert decision.outcome == "updated" and set(decision.meta["sources"]) == {"upr_info_csv", "upr_info_clean_csv"}
    two = {"_id": HASH_ID, **compact, **decision.content, "source": {"format": "upr_info_clean_csv"}, **decision.meta}
    assert stored_meta(two) == two  # two sources: kept as they are


# --- the batch handler, on a fake repository ----------------------------------------------


async def test_three_sources_make_one_recommendation_under_its_paragraph_id() -> None:
    repo = FakeRepo()
    await handlers.recommendations_imported([envelope_of(row())], deps(repo))
    (clean,) = await handlers.recommendations_imported([envelope_of(row(
        "KHM-1-82.32h", fmt="upr_info_clean_csv", paragraph="82.32", symbol="A/HRC/13/4",
        import_id="imp-clean"))], deps(repo))
    assert clean is not None and clean.outcome == "updated" and HASH_ID in clean.released
    (uhri,) = await handlers.recommendations_imported([envelope_of(row(
        "KHM-1-82.32", fmt="uhri_xlsx", paragraph="82.32", text=f"82.32 {TEXT.upper()} (Spain)",
        themes=["Trafficking in persons"], import_id="imp-uhri"))], deps(repo))
    assert uhri is not None and uhri.detail == {"recommendation_id": "KHM-1-82.32h"}
    assert list(repo.recs) == ["KHM-1-82.32h"]
    merged = repo.recs["KHM-1-82.32h"]
    assert merged["aliases"] == [HASH_ID] and merged["source_themes"] == ["Trafficking in persons"]
    assert merged["version"] == 3 and merged["paragraph"] == "82.32"
    # The raw file again: found by its alias, nothing changes.
    (again,) = await handlers.recommendations_imported([envelope_of(row(import_id="imp-raw-2"))], deps(repo))
    assert again is not None and again.outcome == "unchanged" and list(repo.recs) == ["KHM-1-82.32h"]


async def test_an_ambiguous_row_is_stored_nowhere_and_listed_with_its_candidates() -> None:
    repo = FakeRepo()
    await handlers.recommendations_imported([envelope_of(row())], deps(repo))
    grey = f"{TEXT} and of women and girls"
    (outcome,) = await handlers.recommendations_imported([envelope_of(row(
        "KHM-1-x1111111111", fmt="cso_sheet", text=grey, import_id="imp-cso"))], deps(repo))
    assert outcome is not None and outcome.outcome == "ambiguous" and not outcome.events
    assert outcome.detail["ambiguous"]["candidates"][0]["recommendation_id"] == HASH_ID
    assert list(repo.recs) == [HASH_ID]


async def test_an_upgrade_killed_after_its_history_or_before_the_old_id_is_removed_leaves_one() -> None:
    repo = FakeRepo()
    await handlers.recommendations_imported([envelope_of(row())], deps(repo))
    clean = [envelope_of(row("KHM-1-82.32h", fmt="upr_info_clean_csv", paragraph="82.32", import_id="imp-clean"))]
    repo.crash_after_history = True
    try:
        await handlers.recommendations_imported(clean, deps(repo))
    except ConnectionError:
        pass
    repo.crash_after_history = False
    (first,) = await handlers.recommendations_imported(clean, deps(repo))  # the redelivery
    assert first is not None and first.outcome == "updated"
    assert list(repo.recs) == ["KHM-1-82.32h"] and repo.recs["KHM-1-82.32h"]["version"] == 2
    # Killed after the new document but before the old one was removed: the redelivery removes it.
    repo.recs[HASH_ID] = {"country": "KHM", "cycle": 1, "text": TEXT, "version": 1}
    (again,) = await handlers.recommendations_imported(clean, deps(repo))
    assert again is not None and again.outcome == "updated"
    assert list(repo.recs) == ["KHM-1-82.32h"] and sorted(repo.versions) == sorted([f"{HASH_ID}@1", "KHM-1-82.32h@2"])


class CountingRepo(FakeRepo):
    """Which (country, cycle) the matcher reads stored candidates of."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[tuple[str, int]]] = []

    async def match_candidates(self, wanted: Any) -> list[dict[str, Any]]:
        self.asked.append([(w["country"], w["cycle"]) for w in wanted])
        return await super().match_candidates(wanted)


async def test_candidates_are_read_only_where_another_import_stored_recommendations() -> None:
    repo = CountingRepo()
    texts = [TEXT, "Ratify the Optional Protocol on the sale of children", "Establish a national human rights body"]
    first = [envelope_of(row(f"KHM-1-x{n:010d}", text=text, n=n)) for n, text in enumerate(texts)]
    await handlers.recommendations_imported(first[:2], deps(repo))
    await handlers.recommendations_imported(first[2:], deps(repo))  # the same file, a later batch
    assert repo.asked == []  # a file's own rows are never its candidates: nothing to read
    (other,) = await handlers.recommendations_imported([envelope_of(row(
        "KHM-1-82.32", fmt="uhri_xlsx", paragraph="82.32", text=TEXT, import_id="imp-uhri"))], deps(repo))
    assert repo.asked == [[("KHM", 1)]]
    assert other is not None and other.outcome == "updated"  # found and merged
    assert sorted(repo.recs) == ["KHM-1-82.32", "KHM-1-x0000000001", "KHM-1-x0000000002"]
