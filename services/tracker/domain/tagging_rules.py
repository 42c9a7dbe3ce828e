"""The rule layer's vocabulary: what makes a recommendation child-related, and cues per theme.

Written from ``THEMES_GUIDE.md``'s definitions and general UPR wording ("Take measures to
...", "Ratify ...", "Strengthen efforts to combat ..."), not from the labelled sample.
Patterns run on normalised text: lower case, ASCII punctuation turned into spaces (so
"ill-treatment" reads "ill treatment", "OP-CEDAW" reads "op cedaw"), Khmer script kept.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

# Strength of one cue; a theme's score combines its cues as 1 - prod(1 - weight).
STRONG = 0.9
MEDIUM = 0.6
WEAK = 0.35

# How many words apart a cue and a child term may be to count as "about children".
NEAR_WORDS = 12


@dataclass(frozen=True)
class ChildTerm:
    """A term that makes a recommendation child-related (per the guide)."""

    pattern: str
    label: str
    unless_before: str | None = None  # regex on the few words just before the match
    unless_after: str | None = None  # regex on the few words just after the match
    person: bool = False  # names children themselves (used to judge "near children")


@dataclass(frozen=True)
class Cue:
    """Evidence for one theme."""

    theme: str
    pattern: str
    weight: float
    label: str
    near_child: bool = False  # only when a word naming children is within `window` words
    window: int = NEAR_WORDS
    fallback: bool = False  # only when no specific theme was found (T01 "general measures")
    requires: str | None = None  # another regex that must also occur in the text
    unless: str | None = None  # a regex that, when it occurs in the text, cancels the cue
    unless_before: str | None = None  # regex on the words just before a match: that match does not count
    unless_after: str | None = None  # regex on the words just after a match: that match does not count


_TRAFFICKING = r"\btraffick\w*"
_NOT_PERSONS_TRAFFICKING = (
    r"\b(drugs?|narcotic\w*|arms|weapons?|firearms?|wildlife|timber|logs?|illicit goods)\s+(and\s+\w+\s+)?$"
)
_NOT_PERSONS_AFTER = r"^\s*(in|of)\s+(illicit\s+)?(drugs?|narcotic\w*|arms|weapons?|firearms?|wildlife)\b"
_ILO_CHILD = r"\b(ilo|labou?r organi[sz]ation)\b(\s+\S+){0,12}?\s+(no |c ?)?(138|182)\b|\bc ?(138|182)\b"
_EDU_NOT_CHILD_BEFORE = r"(human rights|public|legal|civic|awareness|police|judicial|professional)\s*$"
_EDU_NOT_CHILD_AFTER = (
    r"^\s*(and\s+)?(training|awareness|campaigns?)?\s*(\w+\s+){0,3}"
    r"(officials|officers|police|judges|judiciary|law enforcement|military|armed forces|"
    r"civil servants|public servants|personnel|the public|general public|prosecutors|lawyers)\b"
)

CHILD_TERMS: tuple[ChildTerm, ...] = (
    ChildTerm(r"\bchild(ren|hood)?\b", "children", person=True),
    ChildTerm(r"\bminors?\b", "minors", person=True),
    ChildTerm(r"\bgirls?\b", "girls", person=True),
    ChildTerm(r"\bboys?\b", "boys", person=True),
    ChildTerm(r"\bjuveniles?\b", "juveniles", person=True),
    ChildTerm(r"\badolescen(ts?|ce)\b", "adolescents", person=True),
    ChildTerm(r"\b(infants?|newborns?|babies|baby)\b", "infants", person=True),
    ChildTerm(r"\borphan(s|ages?|ed)?\b", "orphans", person=True),
    ChildTerm(r"\b(pupils?|students?|schoolchildren)\b", "pupils/students", person=True),
    ChildTerm(r"\b(schools?|schooling|kindergartens?|pre ?schools?)\b", "schools", person=True),
    ChildTerm(r"\b(underage|under (the age of )?18)\b", "under 18", person=True),
    ChildTerm(r"\beducation (and training )?(\w+ ){0,2}at all levels\b", "education at all levels (incl. schools)"),
    ChildTerm(r"\bbirths?\b", "birth registration"),
    ChildTerm(
        r"\b(minimum (legal )?age|age (of|for) (criminal )?(responsibility|sexual consent|consent))\b", "minimum ages"
    ),
    ChildTerm(
        r"\beducation(al)?\b",
        "education",
        unless_before=_EDU_NOT_CHILD_BEFORE,
        unless_after=_EDU_NOT_CHILD_AFTER,
    ),
    ChildTerm(r"\b(early|forced) marriages?\b", "early/forced marriage"),
    ChildTerm(r"\bcorporal punishment\b", "corporal punishment"),
    ChildTerm(_TRAFFICKING, "trafficking", unless_before=_NOT_PERSONS_TRAFFICKING, unless_after=_NOT_PERSONS_AFTER),
    ChildTerm(r"\bsale of (persons|human beings|women)\b", "sale of persons"),
    ChildTerm(r"\bsex(ual)? (tourism|tourists?|exploitation)\b", "sexual exploitation / sex tourism"),
    ChildTerm(r"\b(paedophil\w*|pedophil\w*)\b", "paedophilia"),
    ChildTerm(r"\b(crc|opsc|opac|opic|op crc\w*)\b", "CRC / its optional protocols"),
    ChildTerm(r"\brights of the child\b", "rights of the child"),
    ChildTerm(r"\bhague (adoption )?convention\b|\b(inter ?country|international) adoptions?\b", "Hague adoption"),
    ChildTerm(_ILO_CHILD, "ILO C138/C182"),
    ChildTerm(r"\bunicef\b", "UNICEF"),
    ChildTerm("កុមារ", "កុមារ (children)", person=True),
)

# A child term just after one of these words is not about children ("other than children").
NEGATORS = r"\b(not|except|excluding|other than|rather than|apart from)\s+(\w+\s+){0,2}$"

_ONLINE = (
    r"\b(online|on line|internet|cyber\w*|digital|ict|icts|information and communication technolog\w*|"
    r"social media|webcams?|live ?stream\w*|mobile phones?|smartphones?)\b"
)
_SEXUAL = r"\b(sexual\w*|sex|pornograph\w*|grooming|sextortion|abuse material|csam|obscen\w*)\b"
_OPSC_TITLE_BEFORE = r"\bprostitution (and|&)\s+$"
_GIRLS_OR_WOMEN_AND_CHILDREN = r"\bgirls?\b|\bwomen\b.*\bchild(ren)?\b|\bchild(ren)?\b.*\bwomen\b"

CUES: tuple[Cue, ...] = (
    # T01 general measures
    Cue(
        "T01",
        r"\b(crc|op crc\w*|convention on the rights of the child|committee on the rights of the child)\b",
        STRONG,
        "CRC",
    ),
    Cue(
        "T01",
        r"\b(opsc|opac|opic)\b|\boptional protocols? (\w+ ){0,6}(crc|rights of the child)\b",
        STRONG,
        "CRC optional protocols",
    ),
    Cue("T01", r"\b(cncc|national council for children|council for the rights of the child)\b", STRONG, "CNCC"),
    Cue(
        "T01",
        r"\b(budget\w*|resources|funding|allocat\w*|financ\w*)\b",
        MEDIUM,
        "budget/resources",
        near_child=True,
    ),
    Cue("T01", r"\b(data|statistic\w*|disaggregated|indicators?|database)\b", MEDIUM, "data", near_child=True),
    Cue(
        "T01",
        r"\b(national human rights institution|nhri|ombuds\w*|paris principles)\b",
        MEDIUM,
        "NHRI (child mandate)",
    ),
    Cue(
        "T01",
        r"\b(laws?|legislation|legal framework|polic(y|ies)|strateg(y|ies)|action plans?|plans?)\b"
        r"(\s+\S+){0,8}?\s+(rights of the child|child rights|children s rights|rights of children)\b",
        STRONG,
        "law/policy on children's rights",
    ),
    Cue(
        "T01",
        r"\b(rights of the child|child rights|children s rights|rights of children)\b",
        MEDIUM,
        "children's rights in general",
        fallback=True,
    ),
    Cue(
        "T01",
        r"\b(laws?|legislation|legal framework|polic(y|ies)|strateg(y|ies)|action plans?|"
        r"national plans?|programmes?|coordination|monitoring|mechanisms?)\b",
        MEDIUM,
        "child-rights law/policy",
        near_child=True,
        fallback=True,
    ),
    # T02 child protection system
    Cue(
        "T02",
        r"\bchild protection (laws?|codes?|bill|systems?|services?|polic(y|ies)|mechanisms?|"
        r"committees?|officers?|networks?|workforce)\b",
        STRONG,
        "child protection law/system",
    ),
    Cue("T02", r"\bchild protection\b", MEDIUM, "child protection"),
    Cue(
        "T02",
        r"\b(protection (systems?|services?|mechanisms?) for children)\b",
        STRONG,
        "protection services for children",
    ),
    Cue(
        "T02",
        r"\bsocial (work|workers?|workforce|services?|welfare services?)\b",
        MEDIUM,
        "social workforce/services",
        near_child=True,
    ),
    Cue(
        "T02",
        r"\b(case management|referral (mechanisms?|systems?|pathways?)|reporting mechanisms?|"
        r"complaints? mechanisms?|child helplines?|helplines?)\b",
        MEDIUM,
        "reporting/referral mechanism",
    ),
    # T03 minimum ages
    Cue("T03", r"\bminimum (legal )?age\b", STRONG, "minimum age"),
    Cue(
        "T03",
        r"\bage (of|for) (criminal )?(responsibility|consent|sexual consent|marriage)\b",
        STRONG,
        "age of responsibility/consent/marriage",
    ),
    Cue(
        "T03",
        r"\b(legal|minimum) (marriage|marriageable|working) age\b|\bmarriageable age\b",
        STRONG,
        "marriage/working age",
    ),
    Cue("T03", r"\b(raise|raising|set|setting) the (minimum )?age\b", STRONG, "raising the age"),
    Cue("T03", r"\bminimum age convention\b", STRONG, "ILO C138 (minimum age)"),
    # T04 general principles
    Cue("T04", r"\bbest interests? of (the )?child(ren)?\b", STRONG, "best interests of the child"),
    Cue(
        "T04",
        r"\b(right to be heard|views of (the )?child(ren)?|child(ren)? participation|"
        r"participation of (children|young people|youth|adolescents)|children s participation)\b",
        STRONG,
        "child participation",
    ),
    Cue(
        "T04",
        r"\b(non ?discrimination|discriminat\w*|stigma\w*)\b",
        MEDIUM,
        "non-discrimination",
        near_child=True,
    ),
    Cue(
        "T04",
        r"\b(equal (access|opportunit\w*|rights|treatment)|equality|equitable)\b",
        WEAK,
        "equality",
        near_child=True,
    ),
    # T05 birth registration & identity
    Cue(
        "T05",
        r"\bbirth (registration|certificates?|records?)\b|\bregist\w* (of )?(all )?(the )?(new ?born\w* |"
        r"child(ren)? s )?births?\b|\bcivil registration\b|\b(registration|registered) at birth\b",
        STRONG,
        "birth registration",
    ),
    Cue(
        "T05",
        r"\b(nationality|citizenship|identity (documents?|cards?|papers)|legal identity|"
        r"right to a name|personal documents?)\b",
        MEDIUM,
        "nationality/identity",
        near_child=True,
    ),
    # T06 violence against children
    Cue(
        "T06",
        r"\b(violence|abuse|maltreatment|neglect) (against|of|towards|on|affecting) "
        r"(children|minors|girls and boys|boys and girls|the child)\b",
        STRONG,
        "violence against children",
    ),
    Cue("T06", r"\b(corporal|physical|violent) punishment\b|\bbeating\w*\b", STRONG, "corporal punishment"),
    Cue("T06", r"\bchild abuse\b|\babused children\b", STRONG, "child abuse"),
    Cue(
        "T06",
        r"\b(violence|abuse|maltreatment|neglect|bullying|harmful practices)\b",
        MEDIUM,
        "violence/abuse",
        near_child=True,
        window=8,
        unless_before=r"\b(sexual|sexually|gender based|domestic)\s+$",
    ),
    Cue(
        "T06",
        r"\b(torture|ill treatment|cruel|inhuman|degrading)\b",
        MEDIUM,
        "torture/ill-treatment",
        near_child=True,
    ),
    # T07 sexual abuse & exploitation
    Cue(
        "T07",
        r"\bsexual(ly)? (abuse\w*|exploit\w*|violence|assault\w*|abused|exploited)\b",
        STRONG,
        "sexual abuse/exploitation",
        near_child=True,
    ),
    Cue("T07", r"\bsexual(ly)? (abuse\w*|exploit\w*|abused|exploited)\b", MEDIUM, "sexual abuse/exploitation"),
    Cue("T07", r"\b(child )?sex(ual)? (tourism|tourists?)\b", STRONG, "sex tourism"),
    Cue(
        "T07",
        r"\b(prostitution|paedophil\w*|pedophil\w*|rape|raped|incest|sexual harassment|"
        r"pornograph\w*)\b",
        STRONG,
        "prostitution/rape/pornography of children",
        near_child=True,
    ),
    Cue("T07", r"\b(opsc|sale of children)\b", MEDIUM, "sale of children (OPSC)"),
    # T08 online child sexual exploitation
    Cue("T08", _ONLINE, STRONG, "online + sexual abuse/exploitation", requires=_SEXUAL),
    Cue(
        "T08",
        r"\b(grooming|sextortion|child sexual abuse material|csam|child pornograph\w*)\b",
        STRONG,
        "CSAM/grooming/sextortion",
        unless_before=_OPSC_TITLE_BEFORE,
    ),
    Cue(
        "T08",
        r"\b(internet service providers?|isps?|hotlines?)\b",
        MEDIUM,
        "ISP duties/hotline",
        requires=_SEXUAL,
    ),
    # T09 gender-based violence (women and girls)
    Cue(
        "T09",
        r"\b(gender based violence|gbv|domestic violence|violence against women|sexual violence|"
        r"rape|sexual harassment|acid attacks?|intimate partner violence|violence against girls)\b",
        STRONG,
        "gender-based violence with girls concerned",
        requires=_GIRLS_OR_WOMEN_AND_CHILDREN,
    ),
    Cue(
        "T09",
        r"\b(violence|exploitation|abuse|harassment|discrimination)\b(\s+\S+){0,3}?\s+(of|against|towards) "
        r"(women and girls|girls and women)\b",
        STRONG,
        "violence/exploitation of women and girls",
    ),
    # T10 child marriage
    Cue(
        "T10",
        r"\b(child|early|forced|premature) marriages?\b|\bchild brides?\b|\bmarriage of "
        r"(children|minors|girls)\b",
        STRONG,
        "child/early/forced marriage",
    ),
    Cue("T10", r"\bmarri\w*\b", MEDIUM, "marriage of children", near_child=True),
    # T11 family & alternative care
    Cue(
        "T11",
        r"\b(orphanages?|residential (care|institutions?)|institutional care|(de)?institutionali[sz]\w*|"
        r"alternative care|foster\w*|family based care|kinship care|orphanage tourism|adoptions?|adopted|"
        r"hague (adoption )?convention|inter ?country|orphans?)\b",
        STRONG,
        "alternative care/adoption",
    ),
    Cue(
        "T11",
        r"\b(family (support|environment|reunification|tracing|strengthening)|famil(y|ies)|"
        r"parenting|parents?|caregivers?|separated)\b",
        MEDIUM,
        "family support",
        near_child=True,
    ),
    # T12 health & welfare
    Cue(
        "T12",
        r"\b(maternal|infant mortality|child mortality|under five|malnutrition|malnourish\w*|stunting|"
        r"vaccin\w*|immuni[sz]ation|breastfeeding|child health)\b",
        STRONG,
        "child/maternal health, nutrition",
    ),
    Cue(
        "T12",
        r"\b(health\w*|mortality|nutrition\w*|hiv|aids|sanitation|drinking water|clean water|safe water|"
        r"hygiene|food|hunger|medical|hospitals?|clinics?|diseases?)\b",
        MEDIUM,
        "health of children",
        near_child=True,
        window=8,
        unless_before=r"\bmental\s+$",
    ),
    Cue(
        "T12",
        r"\b(social (protection|security|assistance|safety nets?)|cash transfers?|standard of living|"
        r"child benefits?|welfare|livelihoods?)\b",
        MEDIUM,
        "social protection/standard of living",
        near_child=True,
    ),
    # T13 mental health & online risks
    Cue(
        "T13",
        r"\b(mental health|psychosocial|psycho social|psychological\w*|suicid\w*|depression|"
        r"trauma\w*|well being)\b",
        MEDIUM,
        "mental health of children",
        near_child=True,
        window=8,
    ),
    Cue(
        "T13",
        r"\b(cyber ?bullying|online (safety|risks?|harms?)|internet safety|digital literacy|"
        r"online gaming|online gambling|harmful content)\b",
        STRONG,
        "online risks",
    ),
    Cue("T13", _ONLINE, MEDIUM, "online risks", near_child=True, unless=_SEXUAL),
    # T14 children with disabilities
    Cue(
        "T14",
        r"\b(child(ren)?|girls?|boys?|pupils?|students?|minors?|learners) with (\w+ )?"
        r"(disabilit\w*|special needs|impairments?)\b|"
        r"\b(disabled|handicapped) (child(ren)?|girls?|boys?|pupils?|students?|minors?)\b|"
        r"\bspecial (educational )?needs\b",
        STRONG,
        "children with disabilities",
    ),
    Cue(
        "T14",
        r"\b(education\w*|schools?|schooling)\b(\s+\S+){0,10}?\s+(disabilit\w*|disabled)\b|"
        r"\b(disabilit\w*|disabled)\b(\s+\S+){0,6}?\s+(education\w*|schools?|schooling)\b",
        STRONG,
        "education of persons with disabilities (inclusive education)",
    ),
    Cue("T14", r"\binclusive (education|schools?)\b", STRONG, "inclusive education"),
    # T15 education & leisure
    Cue(
        "T15",
        r"\b(education(al)?|schools?|schooling|enrol\w*|drop ?outs?|dropping out|literacy|teachers?|"
        r"curricul\w*|classrooms?|pupils?|students?|kindergartens?|pre ?schools?|scholarships?|"
        r"vocational training|learning)\b",
        STRONG,
        "education/school",
    ),
    Cue(
        "T15",
        r"\b(leisure|recreation\w*|right to play|sports?|cultural activities)\b",
        MEDIUM,
        "leisure/play",
        near_child=True,
    ),
    # T16 juvenile justice
    Cue(
        "T16",
        r"\b(juvenile (justice|offenders?|detention|courts?|delinquen\w*|judges?)|"
        r"(children|minors) in conflict with the law|child friendly (justice|courts?|procedures|"
        r"interview\w*)|justice for children|age (of|for) criminal responsibility|diversion)\b",
        STRONG,
        "juvenile justice",
    ),
    Cue("T16", r"\bjuveniles?\b", STRONG, "juveniles"),
    Cue(
        "T16",
        r"\b(detain\w*|detention|prisons?|jail\w*|imprison\w*|custody|deprived of (their )?liberty|"
        r"incarcerat\w*|separate\w* from adults|reformator\w*|rehabilitation centres?|"
        r"victims? and witnesses|witnesses|court proceedings|criminal (justice|proceedings))\b",
        STRONG,
        "detention/court with children",
        near_child=True,
    ),
    # T17 child labour
    Cue(
        "T17",
        r"\bchild labou?r\w*|\b(working children|child workers?|child domestic workers?|"
        r"worst forms of child labou?r|hazardous (work|labou?r|occupations?|conditions))\b",
        STRONG,
        "child labour",
    ),
    Cue("T17", _ILO_CHILD + r"|\bminimum age convention\b", STRONG, "ILO C138/C182"),
    Cue(
        "T17",
        r"\b(economic exploitation|forced labou?r|begging|labou?r exploitation|exploitative labou?r|"
        r"domestic work\w*)\b",
        MEDIUM,
        "labour exploitation",
        near_child=True,
    ),
    # T18 trafficking & sale
    Cue(
        "T18",
        _TRAFFICKING,
        STRONG,
        "trafficking",
        unless_before=_NOT_PERSONS_TRAFFICKING,
        unless_after=_NOT_PERSONS_AFTER,
    ),
    Cue(
        "T18",
        r"\bsale of (children|persons|human beings|women)\b|\bpalermo protocol\b",
        STRONG,
        "sale of persons / Palermo Protocol",
    ),
    Cue("T18", r"\bopsc\b", MEDIUM, "OPSC (sale of children)"),
    # T19 children in vulnerable situations
    Cue(
        "T19",
        r"\bstreet (children|kids|youth|connected|living|based)\b|\b(living|working) (in|on) the "
        r"streets?\b",
        STRONG,
        "street children",
    ),
    Cue(
        "T19",
        r"\b(migrant\w*|migration|refugees?|asylum|stateless\w*|indigenous|minorit(y|ies)|ethnic\w*|"
        r"evict\w*|displace\w*|poverty|poor(est)?|undocumented|non (khmer |cambodian )?(citizens|nationals)|"
        r"foreign(ers| nationals)?|difficult (situations?|circumstances|conditions)|vulnerable)\b",
        MEDIUM,
        "children in vulnerable situations",
        near_child=True,
        window=4,
    ),
    Cue("T19", r"\bpoor (families|households)\b", MEDIUM, "poor families"),
    Cue("T19", r"\b(rural|remote areas?)\b", WEAK, "rural/remote", near_child=True, window=4),
)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --- where to try each pattern (issue 12) ---------------------------------------------
#
# Trying ~95 case-insensitive patterns at every position of every text cost 1-2 ms per
# recommendation: CPython's ``re`` cannot skip ahead in a pattern that opens with ``\b``,
# and one alternation of all patterns is no faster (and would lose overlapping matches).
# So each pattern keeps its exact regex and only *where* it is tried changes. From the
# pattern's own parse tree we derive the literal beginnings ("triggers") every match must
# start with, e.g. ``\b(budget\w*|resources)`` -> words starting "budg" or "reso". A
# text's words are looked up once in a table of all triggers, and each pattern runs
# ``match`` only at the word starts its triggers found, which gives exactly the matches
# ``finditer`` would. A pattern whose beginnings cannot be derived runs over the whole
# text as before: speed depends on the derivation, the labels only on it being right
# (checked against plain ``finditer`` in tests/unit/tagging/test_rule_scanner.py).

TRIGGER_CHARS = 4  # triggers are at most this many characters of a match's beginning
_MAX_PATHS = 512  # beyond this many beginnings, give up (the pattern runs everywhere)

_WORD_CHAR = re.compile(r"\w")
_WORD_RUN = re.compile(r"\w+")
# Characters a trigger may contain. For these, "IGNORECASE matches it" means "equal" in a
# lower-cased text, apart from the case twins below.
_CASELESS = re.compile(r"[a-z0-9 _\u1780-\u17ff\u19e0-\u19ff]")
# Characters IGNORECASE matches with i, k or s that are not i, k, s themselves; the first
# two survive ``str.lower()``. A text holding one is scanned the old, exhaustive way.
CASE_TWINS = re.compile("[\u0131\u017f\u0130\u212a]")


class _Path(NamedTuple):
    """One way a match can begin: the literal characters known so far."""

    at_word_start: bool  # a \b came before any character: the match starts a run of \w
    text: str
    done: bool  # nothing more is known about the characters after ``text``
    whole: bool = False  # a \b right after ``text``: the run of \w is ``text`` itself


def _op_name(value: Any) -> str:
    return str(getattr(value, "name", ""))


def _extend(items: Iterable[tuple[Any, Any]], paths: set[_Path]) -> set[_Path]:
    """The beginnings after reading ``items`` (a parsed regex sequence) on from ``paths``."""
    for op, av in items:
        if all(p.done for p in paths):
            return paths
        name = _op_name(op)
        if name == "AT":
            if _op_name(av) == "AT_BOUNDARY":
                paths = {_boundary(p) for p in paths}
            continue  # other zero-width assertions: ignoring a condition only adds candidates
        if name in ("ASSERT", "ASSERT_NOT"):
            continue  # lookarounds consume nothing
        if name == "LITERAL":
            paths = {_read(p, chr(av)) for p in paths}
        elif name == "IN":
            chars = _class_chars(av)
            paths = {_read(p, c) for p in paths for c in chars} if chars else {_stop(p) for p in paths}
        elif name == "SUBPATTERN" and not av[1] and not av[2]:  # a group without inline flags
            paths = _extend(av[3].data, paths)
        elif name == "BRANCH":
            paths = {q for alternative in av[1] for q in _extend(alternative.data, paths)}
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            paths = _repeat(int(av[0]), int(av[1]), av[2].data, paths)
        else:  # any other construct (\w, \s, ., ...): the beginning is known up to here
            paths = {_stop(p) for p in paths}
        if len(paths) > _MAX_PATHS:
            raise ValueError("too many beginnings")
    return paths


def _stop(path: _Path) -> _Path:
    return path if path.done else path._replace(done=True)


def _boundary(path: _Path) -> _Path:
    if path.done:
        return path
    if not path.text:
        return path._replace(at_word_start=True)
    if _WORD_CHAR.match(path.text[-1]):  # a word character, then a non-word one (or the end)
        return path._replace(done=True, whole=True)
    return path


def _read(path: _Path, char: str) -> _Path:
    if path.done:
        return path
    if not _CASELESS.fullmatch(char):
        return path._replace(done=True)
    text = path.text + char
    return path._replace(text=text, done=len(text) >= TRIGGER_CHARS)


def _class_chars(items: Sequence[tuple[Any, Any]]) -> tuple[str, ...] | None:
    """The characters of a small class like [sz] (None for \\w, negations, big ranges)."""
    chars: list[str] = []
    for op, av in items:
        name = _op_name(op)
        if name == "LITERAL":
            chars.append(chr(av))
        elif name == "RANGE" and int(av[1]) - int(av[0]) < 10:
            chars.extend(chr(c) for c in range(int(av[0]), int(av[1]) + 1))
        else:
            return None
    return tuple(chars) if 0 < len(chars) <= 10 else None


def _repeat(low: int, high: int, items: Sequence[tuple[Any, Any]], paths: set[_Path]) -> set[_Path]:
    """``items`` repeated low..high times (the first few repetitions are read)."""
    unrolled = min(high, max(low, 3))
    out: set[_Path] = set()
    current = paths
    for count in range(unrolled + 1):
        if count >= low:
            out |= current
        if count == unrolled:
            break
        current = _extend(items, current)
    if high > unrolled:  # more repetitions may follow: what comes next is unknown
        out |= {_stop(p) for p in current}
    return out


@dataclass(frozen=True)
class Triggers:
    """Where a pattern's matches can begin.

    - at the start of a run of \\w characters that begins with one of ``words``,
      or that is one of ``whole_words``;
    - or, when ``anywhere`` is not empty, at any occurrence of one of its strings.
    """

    words: frozenset[str] = frozenset()
    whole_words: frozenset[str] = frozenset()
    anywhere: frozenset[str] = frozenset()


def derive_triggers(pattern: str) -> Triggers | None:
    """The literal beginnings every match of ``compile_pattern(pattern)`` must have.

    None when they cannot be derived (the pattern is then tried everywhere). Reads the
    parse tree of CPython's own regex parser, so the analysis sees exactly what ``re``
    compiles; anything unexpected in it yields None or a shorter trigger, never a wrong one.
    """
    try:
        parser: Any = importlib.import_module("re._parser")
        paths = _extend(parser.parse(pattern, re.IGNORECASE).data, {_Path(False, "", False)})
    except Exception:
        return None
    if not paths or not all(p.text for p in paths):
        return None  # some match may begin with anything
    if not all(p.at_word_start and _WORD_CHAR.match(p.text[0]) for p in paths):
        return Triggers(anywhere=frozenset(p.text for p in paths))
    words: set[str] = set()
    whole: set[str] = set()
    for p in paths:
        run = _WORD_RUN.match(p.text)
        head = run.group() if run else ""
        if head != p.text or p.whole:  # the run of \w stops after ``head``
            (words if len(head) >= TRIGGER_CHARS else whole).add(head)
        else:
            words.add(head)
    return Triggers(words=frozenset(words), whole_words=frozenset(whole))


class ScannedText:
    """A normalised text with, per pattern, the word starts where it may match."""

    __slots__ = ("candidates", "exact_only", "text")

    def __init__(self, text: str, candidates: dict[int, list[int]], exact_only: bool) -> None:
        self.text = text
        self.candidates = candidates  # pattern id -> ascending start positions
        self.exact_only = exact_only  # every pattern runs over the whole text

    def may_match(self, pattern: RulePattern) -> bool:
        """False when ``pattern`` certainly does not match (cheap: no regex runs)."""
        return pattern.id < 0 or self.exact_only or pattern.id in self.candidates


_NO_MATCHES: tuple[re.Match[str], ...] = ()


class RulePattern:
    """A rule's regex, tried only where its triggers say a match can begin."""

    __slots__ = ("_anywhere", "id", "pattern", "regex", "triggers")

    def __init__(self, pattern: str, pattern_id: int, triggers: Triggers | None) -> None:
        self.pattern = pattern
        self.regex = compile_pattern(pattern)
        self.triggers = triggers
        self.id = pattern_id if triggers is not None and not triggers.anywhere else -1
        self._anywhere = tuple(sorted(triggers.anywhere)) if triggers is not None else ()

    def _starts(self, scanned: ScannedText) -> list[int] | None:
        """Ascending positions where a match may begin (None: anywhere)."""
        if scanned.exact_only or self.triggers is None:
            return None
        if self.id >= 0:
            return scanned.candidates.get(self.id, [])
        text = scanned.text
        found: set[int] = set()
        for literal in self._anywhere:
            at = text.find(literal)
            while at >= 0:
                found.add(at)
                at = text.find(literal, at + 1)
        return sorted(found)

    def finditer(self, scanned: ScannedText) -> Sequence[re.Match[str]]:
        """Exactly ``list(self.regex.finditer(scanned.text))``: non-overlapping, left to right."""
        if self.id >= 0 and not scanned.exact_only:
            starts: list[int] | None = scanned.candidates.get(self.id)
            if starts is None:
                return _NO_MATCHES
        else:
            starts = self._starts(scanned)
            if starts is None:
                return list(self.regex.finditer(scanned.text))
        found: list[re.Match[str]] = []
        end = 0
        match = self.regex.match
        text = scanned.text
        for start in starts:
            if start < end:
                continue
            m = match(text, start)
            if m is not None:
                found.append(m)
                end = m.end()  # triggers are not empty, so neither is a match
        return found

    def search(self, scanned: ScannedText) -> re.Match[str] | None:
        """Exactly ``self.regex.search(scanned.text)``."""
        starts = self._starts(scanned)
        if starts is None:
            return self.regex.search(scanned.text)
        match = self.regex.match
        text = scanned.text
        for start in starts:
            m = match(text, start)
            if m is not None:
                return m
        return None


class RuleScanner:
    """Compiles the rule patterns and, once per text, finds where each may match."""

    def __init__(self) -> None:
        self.patterns: list[RulePattern] = []
        # A word's first TRIGGER_CHARS characters (or the whole of a shorter word) -> ids.
        self._heads: dict[str, list[int]] = {}
        # Shorter beginnings, by length -> beginning -> ids (none for today's rules).
        self._short: dict[int, dict[str, list[int]]] = {}

    def add(self, pattern: str) -> RulePattern:
        compiled = RulePattern(pattern, len(self.patterns), derive_triggers(pattern))
        self.patterns.append(compiled)
        if compiled.id >= 0 and compiled.triggers is not None:
            for word in compiled.triggers.whole_words:
                self._heads.setdefault(word, []).append(compiled.id)
            for word in compiled.triggers.words:
                table = self._heads if len(word) == TRIGGER_CHARS else self._short.setdefault(len(word), {})
                table.setdefault(word, []).append(compiled.id)
        return compiled

    def scan(self, text: str) -> ScannedText:
        """Where each pattern may match in ``text`` (normalised: see ``tagging.normalise``).

        Triggers are lower case: a text that is not, or that holds a case twin, is marked
        for the exhaustive scan (same matches, old speed).
        """
        if CASE_TWINS.search(text) or text.lower() != text:
            return ScannedText(text, {}, exact_only=True)
        candidates: dict[int, list[int]] = {}
        heads = self._heads
        short = tuple(self._short.items())
        at = 0  # splitting at spaces never cuts a run of \w
        for chunk in text.split(" "):
            if chunk.isalnum():  # one run of \w (``\w`` is isalnum() or "_")
                runs: Iterable[tuple[int, str]] = ((at, chunk),)
            else:
                runs = [(at + r.start(), r.group()) for r in _WORD_RUN.finditer(chunk)]
            for start, word in runs:
                ids = heads.get(word[:TRIGGER_CHARS])
                if ids is not None:
                    _add(candidates, ids, start)
                for length, table in short:
                    ids = table.get(word[:length])
                    if ids is not None:
                        _add(candidates, ids, start)
            at += len(chunk) + 1
        return ScannedText(text, candidates, exact_only=False)


def _add(candidates: dict[int, list[int]], ids: list[int], start: int) -> None:
    for pattern_id in ids:
        starts = candidates.get(pattern_id)
        if starts is None:
            candidates[pattern_id] = [start]
        elif starts[-1] != start:
            starts.append(start)
