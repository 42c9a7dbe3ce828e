"""Explainable child-rights theme tagging (T01-T19).

Two signals, combined as measured in ``docs/tagging.md``:

1. **Rules**: terms, phrases and regexes per theme written from the themes guide, with
   exclusions (a treaty that is not about children, women only, drug trafficking...) and
   the UHRI-theme / SDG crosswalks of ``contracts/taxonomy.yaml`` when the source has them.
2. **Confirmed examples**: recommendations whose themes people have confirmed or
   corrected. The nearest ones (TF-IDF cosine, or sentence embeddings when an
   :class:`Embedder` is given) vote for their themes, so corrections improve later
   suggestions without retraining anything.

Everything here is pure: data is loaded when a :class:`Tagger` is built; ``tag`` does
no I/O. People's corrections always win: see :func:`apply_corrections`.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from contracts.events import ThemeTag
from services.tracker.domain import tagging_rules as rules

if TYPE_CHECKING:  # the taxonomy is read by an adapter and passed in (domain purity, issue 17)
    from contracts.taxonomy import Taxonomy

RULES_VERSION = "rules-3"
EXAMPLES_VERSION = "knn-1"


def tagger_version(taxonomy: Taxonomy, *, embeddings: bool = False) -> str:
    """Which rules, examples signal and taxonomy produced a suggestion."""
    examples = f"{EXAMPLES_VERSION}-embeddings" if embeddings else EXAMPLES_VERSION
    return f"{RULES_VERSION}+{examples}+taxonomy-{taxonomy.version}"

THEME_THRESHOLD = 0.5  # a theme is suggested when its score reaches this
FALLBACK_CONFIDENCE = 0.5  # child-related but no specific theme: T01 at this confidence

# Examples signal (chosen by cross-validation, see docs/tagging.md).
NEIGHBOURS = 5
MIN_SIMILARITY = 0.2  # neighbours less similar than this are ignored
EXAMPLE_ADD_SIMILARITY = 0.5  # the nearest example must be this close to add a theme
EXAMPLE_ADD_SHARE = 0.67  # ... and two thirds of the neighbours' weight must carry it
EXAMPLE_REMOVE_SIMILARITY = 0.9  # a near-duplicate confirmed example overrides the rules

# ASCII punctuation, the dashes U+2010-2015, the quotes U+2018-201F and the no-break space.
_PUNCT = (
    string.punctuation + "".join(map(chr, range(0x2010, 0x2016))) + "".join(map(chr, range(0x2018, 0x2020))) + "\u00a0"
)
_PUNCT_TO_SPACE = str.maketrans(_PUNCT, " " * len(_PUNCT))


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, runs of white space to one space (Khmer script is kept).

    ``str.split()`` splits at exactly the characters ``\\s`` matches, so this equals the
    regex form ``re.sub(r"\\s+", " ", re.sub(PUNCT_CLASS, " ", text.lower())).strip()``,
    at about half the cost.
    """
    return " ".join(text.lower().translate(_PUNCT_TO_SPACE).split())


@dataclass(frozen=True)
class ConfirmedExample:
    """A recommendation whose themes a person confirmed or corrected."""

    recommendation_id: str
    text: str
    child_related: bool
    themes: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class TaggingResult:
    child_related: bool
    themes: list[ThemeTag]
    tagger_version: str
    explanation: str = ""

    @property
    def theme_ids(self) -> list[str]:
        return [t.id for t in self.themes]


class Embedder(Protocol):
    """Turns texts into vectors (e.g. the bundled all-MiniLM-L6-v2 model)."""

    def encode(self, texts: Sequence[str]) -> Sequence[Sequence[float]]: ...


# --- rule layer ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    regex: rules.RulePattern  # tried only where the text's words say it may match
    unless_before: re.Pattern[str] | None  # these two run on the few words around a match
    unless_after: re.Pattern[str] | None


def _compile(scanner: rules.RuleScanner, pattern: str, before: str | None, after: str | None) -> _Compiled:
    return _Compiled(
        scanner.add(pattern),
        rules.compile_pattern(before) if before else None,
        rules.compile_pattern(after) if after else None,
    )


@dataclass
class _Match:
    start: int
    end: int
    text: str


def _matches(compiled: _Compiled, scanned: rules.ScannedText) -> list[_Match]:
    text = scanned.text
    found: list[_Match] = []
    for m in compiled.regex.finditer(scanned):
        before = text[max(0, m.start() - 60) : m.start()]
        after = text[m.end() : m.end() + 100]
        if compiled.unless_before is not None and compiled.unless_before.search(before):
            continue
        if compiled.unless_after is not None and compiled.unless_after.search(after):
            continue
        found.append(_Match(m.start(), m.end(), m.group(0)))
    return found


def _word_index(text: str, char_pos: int) -> int:
    return text.count(" ", 0, char_pos)


@dataclass
class _Evidence:
    weights: list[float] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, weight: float, reason: str) -> None:
        self.weights.append(weight)
        if reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def score(self) -> float:
        return min(0.99, 1.0 - math.prod(1.0 - w for w in self.weights)) if self.weights else 0.0


@dataclass(frozen=True)
class RuleOutcome:
    child_related: bool
    child_terms: list[str]
    scores: dict[str, float]
    reasons: dict[str, list[str]]
    notes: list[str]


class RuleTagger:
    """The rule layer alone: child-relatedness and per-theme scores with reasons."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._scanner = rules.RuleScanner()
        scanner = self._scanner
        self._child = [
            (term, _compile(scanner, term.pattern, term.unless_before, term.unless_after)) for term in rules.CHILD_TERMS
        ]
        self._negators = rules.compile_pattern(rules.NEGATORS)
        self._cues = [
            (
                cue,
                _compile(scanner, cue.pattern, cue.unless_before, cue.unless_after),
                scanner.add(cue.requires) if cue.requires else None,
                scanner.add(cue.unless) if cue.unless else None,
            )
            for cue in rules.CUES
        ]

    def score(self, text: str, source_themes: Sequence[str] = (), sdgs: Sequence[str] = ()) -> RuleOutcome:
        norm = normalise(text)
        scanned = self._scanner.scan(norm)
        child_terms, child_positions = self._child_terms(norm, scanned)
        evidence, child_by_source = self._source_evidence(source_themes, sdgs)
        notes: list[str] = []
        child_related = bool(child_terms) or child_by_source
        if child_by_source and not child_terms:
            notes.append("child-related by the source's UHRI themes/SDGs")
        fallback = self._cue_evidence(norm, scanned, child_positions, evidence)
        scores = {tid: ev.score for tid, ev in evidence.items()}
        reasons = {tid: ev.reasons for tid, ev in evidence.items()}
        if child_related and not any(s >= THEME_THRESHOLD for s in scores.values()):
            _general_measures(scores, reasons, fallback.get("T01"))
        return RuleOutcome(child_related, child_terms, scores, reasons, notes)

    def _child_terms(self, norm: str, scanned: rules.ScannedText) -> tuple[list[str], list[int]]:
        """The child terms found (labels), and the word positions of those naming children themselves."""
        child_positions: list[int] = []
        child_terms: list[str] = []
        for term, compiled in self._child:
            if not scanned.may_match(compiled.regex):
                continue
            for m in _matches(compiled, scanned):
                if self._negators.search(norm[max(0, m.start - 40) : m.start]):
                    continue
                if term.person:
                    child_positions.append(_word_index(norm, m.start))
                if term.label not in child_terms:
                    child_terms.append(term.label)
        return child_terms, child_positions

    def _source_evidence(self, source_themes: Sequence[str], sdgs: Sequence[str]) -> tuple[dict[str, _Evidence], bool]:
        """Themes from the source's UHRI themes and SDGs (the taxonomy's crosswalks), and whether
        those alone make the recommendation child-related."""
        evidence: dict[str, _Evidence] = {}
        child_by_source = False
        for name in source_themes:
            entry = self.taxonomy.uhri(name)
            if entry is None:
                continue
            child_by_source |= entry.child_specific
            for theme_id in entry.themes:
                weight = 0.75 if entry.child_specific else 0.5
                evidence.setdefault(theme_id, _Evidence()).add(weight, f"UHRI theme '{entry.name}'")
        for sdg in sdgs:
            sdg_entry = self.taxonomy.sdg(sdg)
            if sdg_entry is None:
                continue
            child_by_source |= sdg_entry.child_specific
            for theme_id in sdg_entry.themes:
                weight = 0.75 if sdg_entry.child_specific else 0.5
                evidence.setdefault(theme_id, _Evidence()).add(weight, f"SDG {sdg_entry.target}")
        return evidence, child_by_source

    def _cue_evidence(
        self, norm: str, scanned: rules.ScannedText, child_positions: Sequence[int], evidence: dict[str, _Evidence]
    ) -> dict[str, _Evidence]:
        """Adds the themes' cues found in the text to ``evidence``; returns the fallback cues' evidence."""
        fallback: dict[str, _Evidence] = {}
        for cue, compiled, requires, unless in self._cues:
            if not scanned.may_match(compiled.regex):
                continue
            if requires is not None and requires.search(scanned) is None:
                continue
            if unless is not None and unless.search(scanned) is not None:
                continue
            for m in _matches(compiled, scanned):
                if cue.near_child:
                    at = _word_index(norm, m.start)
                    if not any(abs(at - pos) <= cue.window for pos in child_positions):
                        continue
                target = fallback if cue.fallback else evidence
                target.setdefault(cue.theme, _Evidence()).add(cue.weight, f"'{m.text}' ({cue.label})")
                break
        return fallback


def _general_measures(scores: dict[str, float], reasons: dict[str, list[str]], fallback: _Evidence | None) -> None:
    """Child-related with no specific theme: T01 (general measures), from its fallback cues if any."""
    if fallback is not None:
        scores["T01"] = max(scores.get("T01", 0.0), fallback.score)
        reasons["T01"] = reasons.get("T01", []) + fallback.reasons
    else:
        scores["T01"] = max(scores.get("T01", 0.0), FALLBACK_CONFIDENCE)
        reasons["T01"] = [*reasons.get("T01", []), "child-related, no specific theme found"]


# --- examples signal -------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    example: ConfirmedExample
    similarity: float


class ExampleIndex:
    """Nearest confirmed examples by TF-IDF cosine (or an embedder's cosine)."""

    def __init__(self, examples: Sequence[ConfirmedExample], embedder: Embedder | None = None) -> None:
        self.examples = list(examples)
        self.embedder = embedder
        self._matrix: Any = None
        self._vectorizer: Any = None
        if not self.examples:
            return
        texts = [normalise(e.text) for e in self.examples]
        if embedder is not None:
            import numpy as np

            self._matrix = _unit_rows(np.asarray(embedder.encode(texts), dtype=float))
        else:
            from sklearn.feature_extraction.text import TfidfVectorizer

            self._vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english", min_df=1)
            self._matrix = self._vectorizer.fit_transform(texts)

    def nearest(self, text: str, k: int = NEIGHBOURS) -> list[Neighbour]:
        if not self.examples:
            return []
        import numpy as np

        norm = normalise(text)
        if self.embedder is not None:
            query = _unit_rows(np.asarray(self.embedder.encode([norm]), dtype=float))
            sims = (self._matrix @ query.T).ravel()
        else:
            query = self._vectorizer.transform([norm])
            sims = np.asarray((self._matrix @ query.T).todense()).ravel()
        order = np.argsort(-sims)[:k]
        return [Neighbour(self.examples[int(i)], float(sims[int(i)])) for i in order if sims[int(i)] >= MIN_SIMILARITY]


def _unit_rows(matrix: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


@dataclass(frozen=True)
class ExampleVote:
    child_share: float
    theme_shares: dict[str, float]
    top_similarity: float
    neighbours: list[Neighbour]


def vote(neighbours: Sequence[Neighbour]) -> ExampleVote | None:
    total = sum(n.similarity for n in neighbours)
    if not neighbours or total <= 0:
        return None
    child = sum(n.similarity for n in neighbours if n.example.child_related) / total
    shares: dict[str, float] = {}
    for n in neighbours:
        for theme_id in n.example.themes:
            shares[theme_id] = shares.get(theme_id, 0.0) + n.similarity / total
    return ExampleVote(child, shares, max(n.similarity for n in neighbours), list(neighbours))


# --- the tagger --------------------------------------------------------------------------


class Tagger:
    """Suggests child-relatedness and themes for one recommendation text.

    ``use_rules`` / ``use_examples`` exist so the evaluation can measure each signal
    alone; the service uses the defaults.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        *,
        embedder: Embedder | None = None,
        use_rules: bool = True,
        use_examples: bool = True,
    ) -> None:
        self.taxonomy = taxonomy
        self.rules = RuleTagger(self.taxonomy)
        self.embedder = embedder
        self.use_rules = use_rules
        self.use_examples = use_examples
        self._index_cache: dict[tuple[ConfirmedExample, ...], ExampleIndex] = {}
        self.version = tagger_version(taxonomy, embeddings=embedder is not None)

    def index(self, examples: Sequence[ConfirmedExample]) -> ExampleIndex:
        key = tuple(examples)
        index = self._index_cache.get(key)
        if index is None:
            if len(self._index_cache) > 8:
                self._index_cache.clear()
            index = ExampleIndex(key, self.embedder)
            self._index_cache[key] = index
        return index

    def tag(
        self,
        text: str,
        *,
        source_themes: Sequence[str] = (),
        sdgs: Sequence[str] = (),
        examples: Sequence[ConfirmedExample] = (),
    ) -> TaggingResult:
        outcome = self.rules.score(text, source_themes, sdgs) if self.use_rules else RuleOutcome(False, [], {}, {}, [])
        child_related = outcome.child_related
        scores = {tid: s for tid, s in outcome.scores.items() if s >= THEME_THRESHOLD} if child_related else {}
        reasons: dict[str, list[str]] = {tid: [f"rules: {', '.join(outcome.reasons[tid])}"] for tid in scores}
        explanation = (
            f"child-related: {', '.join(outcome.child_terms)}" if outcome.child_terms else "no child-related term"
        )
        if outcome.notes:
            explanation += "; " + "; ".join(outcome.notes)

        ballot = vote(self.index(examples).nearest(text)) if self.use_examples and examples else None
        if ballot is not None:
            near = ", ".join(f"{n.example.recommendation_id} ({n.similarity:.2f})" for n in ballot.neighbours[:3])
            if self.use_rules:
                child_related, scores = self._combine(child_related, scores, reasons, ballot, near)
            else:
                child_related = ballot.child_share >= 0.5
                scores = {}
                if child_related:
                    for tid, share in ballot.theme_shares.items():
                        if share >= EXAMPLE_ADD_SHARE:
                            scores[tid] = share * ballot.top_similarity
                            reasons[tid] = [f"nearest confirmed examples: {near}"]
            explanation += f"; nearest confirmed examples: {near}"

        themes = [
            ThemeTag(id=tid, confidence=round(min(1.0, scores[tid]), 3), explanation="; ".join(reasons[tid])[:2000])
            for tid in sorted(scores)
        ]
        return TaggingResult(child_related, themes, self.version, explanation)

    @staticmethod
    def _combine(
        child_related: bool,
        scores: dict[str, float],
        reasons: dict[str, list[str]],
        ballot: ExampleVote,
        near: str,
    ) -> tuple[bool, dict[str, float]]:
        """Rules first; close confirmed examples add themes, near-duplicates may also drop them."""
        scores = dict(scores)
        if ballot.top_similarity >= EXAMPLE_REMOVE_SIMILARITY:
            twin = ballot.neighbours[0].example
            if twin.child_related != child_related:
                child_related = twin.child_related
            for tid in list(scores):
                if tid not in twin.themes:
                    del scores[tid]
                    reasons.pop(tid, None)
        if not child_related:
            return False, {}
        if ballot.top_similarity >= EXAMPLE_ADD_SIMILARITY:
            for tid, share in ballot.theme_shares.items():
                if share >= EXAMPLE_ADD_SHARE and tid not in scores:
                    scores[tid] = share * ballot.top_similarity
                    reasons[tid] = [f"nearest confirmed examples: {near}"]
                elif tid in scores:
                    scores[tid] = max(scores[tid], share * ballot.top_similarity)
                    reasons[tid].append(f"confirmed by nearest examples: {near}")
        return child_related, scores


# --- human corrections -------------------------------------------------------------------


def apply_corrections(suggested: TaggingResult, added: set[str], removed: set[str]) -> list[ThemeTag]:
    """The themes people see: the suggestion, minus what people removed, plus what they added.

    People always win over (re-)tagging: a removed theme stays removed even when the tagger
    suggests it again, an added one stays even when the tagger no longer suggests it.
    """
    kept = [t for t in suggested.themes if t.id not in removed and t.id not in added]
    human = [
        ThemeTag(id=tid, confidence=1.0, explanation="added by a person", source="human")
        for tid in sorted(added - removed)
    ]
    return sorted([*kept, *human], key=lambda t: t.id)


def merge_correction(
    added: Iterable[str], removed: Iterable[str], add: Iterable[str], remove: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Fold a new correction into the stored ones; the newest word on a theme wins."""
    new_add, new_remove = set(add), set(remove)
    both = new_add & new_remove
    new_add -= both
    new_remove -= both
    kept_added = (set(added) - new_remove) | new_add
    kept_removed = (set(removed) - new_add) | new_remove
    return kept_added, kept_removed


def effective_child_related(suggested: TaggingResult, themes: Sequence[ThemeTag]) -> bool:
    """A recommendation with any theme after corrections is child-related."""
    return bool(themes) or (suggested.child_related and bool(suggested.themes))


def confirmed_example(
    recommendation_id: str, text: str, themes: Sequence[ThemeTag] | Iterable[str]
) -> ConfirmedExample:
    """An example from a recommendation whose themes people have confirmed/corrected."""
    ids = frozenset(t.id if isinstance(t, ThemeTag) else t for t in themes)
    return ConfirmedExample(recommendation_id, text, bool(ids), ids)
