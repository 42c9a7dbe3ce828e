"""Building a row's :class:`RecommendationImportedV1` fast, with exactly validation's result.

Validation by pydantic is a third of the cost of a row. The importers already check
every field (ids against the id pattern, lengths, known positions...), so for a row
whose every value is in a form the model is *known* to accept unchanged, the model is
built directly, as ``model_construct`` would (same ``__dict__``, same fields set).
Any other row is validated by pydantic as always, so errors stay pydantic's.

"Known to accept" is only true of the contract as it was when these checks were written:
:func:`enabled` compares a fingerprint of the models (JSON schema, config, validator
functions' code and the patterns they use, pydantic's version) with the one recorded
here, and validates every row when they differ. ``tests/unit/ingest/test_construct.py``
fails then, to have the checks below reviewed and :data:`CONTRACT_FINGERPRINT` updated.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import date
from types import CodeType
from typing import Any, TypeGuard

import pydantic
import pydantic_core

from contracts.events import (
    MAX_TEXT_CHARS,
    Position,
    RecommendationImportedV1,
    RecommendationImportedV2,
    RecommendingState,
    SourceRef,
)

CONTRACT_FINGERPRINT = "1812f6cd6763d5fbe2f0f5d5ef45c5877837505f3e038751088efc0674320280"

_MODELS: tuple[type[pydantic.BaseModel], ...] = (RecommendationImportedV1, RecommendationImportedV2,
                                                 RecommendingState, SourceRef)
FIELDS: tuple[str, ...] = tuple(RecommendationImportedV1.model_fields)
_SOURCE_FIELDS: tuple[str, ...] = tuple(SourceRef.model_fields)

# ASCII-only forms of the contract's patterns: a value they match, the contract's
# patterns match too.
_ID = re.compile(r"[A-Z]{3}-[0-9]{1,2}-[A-Za-z0-9.\-]{1,40}", re.ASCII)
_ISO3 = re.compile(r"[A-Z]{3}", re.ASCII)
# Lone surrogates are not valid strings for pydantic (never produced by the readers).
_SURROGATE = re.compile(r"[\ud800-\udfff]")

_object_setattr = object.__setattr__


# --- the fingerprint -------------------------------------------------------------------


def _code_digest(code: CodeType, names: dict[str, Any]) -> str:
    parts = [code.co_code.hex(), repr(code.co_names)]
    for const in code.co_consts:
        parts.append(_code_digest(const, names) if isinstance(const, CodeType) else repr(const))
    for name in code.co_names:  # module constants the function uses (e.g. a regex)
        value = names.get(name)
        if isinstance(value, re.Pattern):
            parts.append(f"{name}=re({value.pattern!r}, {value.flags})")
        elif isinstance(value, str | int | float | bool | frozenset | tuple):
            parts.append(f"{name}={value!r}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _function_digest(function: Any) -> str:
    if isinstance(function, functools.partial):
        keywords = sorted(function.keywords.items())
        return f"partial({_function_digest(function.func)}, {function.args!r}, {keywords!r})"
    function = getattr(function, "__func__", function)
    code = getattr(function, "__code__", None)
    name = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"
    if code is None:
        return name
    return f"{name}:{_code_digest(code, getattr(function, '__globals__', {}))}"


def _schema_functions(schema: Any, found: list[str]) -> list[str]:
    """The validator functions of a pydantic core schema (JSON-schema helpers left out)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "metadata":
                continue
            if key == "function" and callable(value):
                found.append(_function_digest(value))
            elif key == "default_factory":
                found.append(f"default_factory={getattr(value, '__qualname__', repr(value))}")
            else:
                _schema_functions(value, found)
    elif isinstance(schema, list | tuple):
        for item in schema:
            _schema_functions(item, found)
    return found


def fingerprint() -> str:
    """What the checks below rely on, of the contract models: changes when they change."""
    parts: list[str] = [f"pydantic {pydantic.VERSION}", f"pydantic-core {pydantic_core.__version__}"]
    for model in _MODELS:
        parts.append(model.__qualname__)
        parts.append(json.dumps(model.model_json_schema(), sort_keys=True))
        parts.append(repr(sorted(model.model_config.items())))
        parts.append(repr(list(model.model_fields)))
        parts.extend(_schema_functions(model.__pydantic_core_schema__, []))
    parts.append(f"position={[p.value for p in Position]}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


@functools.cache
def enabled() -> bool:
    """True when the contract models are the ones the checks below were written for."""
    return fingerprint() == CONTRACT_FINGERPRINT


# --- the checks ------------------------------------------------------------------------


def _plain(value: object) -> TypeGuard[str]:
    """A str pydantic takes as it is (lone surrogates are refused by pydantic)."""
    return type(value) is str and (value.isascii() or not _SURROGATE.search(value))


@functools.lru_cache(maxsize=64)
def _file_fields_accepted(format: object, file_name: object, import_id: object) -> bool:
    """The fields every row of a file shares (checked once per file)."""
    return (
        _plain(format)
        and len(format) <= 50
        and _plain(file_name)
        and len(file_name) <= 300
        and _plain(import_id)
        and len(import_id) <= 100
    )


def accepts(fields: dict[str, Any]) -> bool:
    """Whether validation would accept ``fields`` and keep every value as it is, for fields
    as :func:`services.ingest.domain.records.build_recommendation` makes them for a row
    it found no error in. It makes sure of the rest:

    * ``text`` and ``text_km`` are cleaned cells (no control character, stripped), and
      ``text`` has 1 to MAX_TEXT_CHARS characters;
    * ``paragraph`` is None or matched the paragraph pattern (digits, dots, a letter);
    * ``document_symbol`` is None or a cleaned cell of at most 100 characters;
    * ``session`` and ``action_category`` are None or within their ranges;
    * ``recommending_states`` is a list of RecommendingState, ``position`` a Position,
      the three lists lists of str (plain list[str] takes any str);
    * ``source`` is a dict of format, file name and row number (an int).

    What is checked here (cheap) is what a row's values could still break."""
    if tuple(fields) != FIELDS:
        return False
    recommendation_id = fields["recommendation_id"]
    country = fields["country"]
    cycle = fields["cycle"]
    session = fields["session"]
    category = fields["action_category"]
    published = fields["publication_date"]
    text = fields["text"]
    text_km = fields["text_km"]
    symbol = fields["document_symbol"]
    source = fields["source"]
    return (
        type(recommendation_id) is str
        and _ID.fullmatch(recommendation_id) is not None
        and type(country) is str
        and _ISO3.fullmatch(country) is not None
        and type(cycle) is int
        and 1 <= cycle <= 20
        and (session is None or type(session) is int)
        and (category is None or type(category) is int)
        and (published is None or type(published) is date)
        and (text.isascii() or not _SURROGATE.search(text))
        and (text_km is None or (len(text_km) <= MAX_TEXT_CHARS and not _SURROGATE.search(text_km)))
        and (symbol is None or symbol.isascii() or not _SURROGATE.search(symbol))
        and _file_fields_accepted(source["format"], source["file_name"], fields["import_id"])
    )


def _construct(model: type[pydantic.BaseModel], values: dict[str, Any]) -> Any:
    """What ``model_construct`` does for a model of this kind, given every field in order."""
    instance = model.__new__(model)
    _object_setattr(instance, "__dict__", values)
    _object_setattr(instance, "__pydantic_fields_set__", set(values))
    _object_setattr(instance, "__pydantic_extra__", None)
    _object_setattr(instance, "__pydantic_private__", None)
    return instance


def row_recommendation(fields: dict[str, Any], annotation_id: str | None = None) -> RecommendationImportedV1:
    """``RecommendationImportedV1.model_validate(fields)`` for the fields of a row (see
    :func:`accepts`), without validating again what is known to be valid; with
    ``annotation_id``, that row as v2 (:func:`with_annotation`). Raises pydantic's
    ValidationError like validation. Takes ``fields`` over (its dict becomes the model's)."""
    if enabled() and accepts(fields) and (annotation_id is None or annotation_id.isascii()):
        fields["source"] = _construct(SourceRef, fields["source"])
        if annotation_id is None:
            result: RecommendationImportedV1 = _construct(RecommendationImportedV1, fields)
            return result
        fields["annotation_id"] = annotation_id  # (v2: v1's fields, then this one)
        v2: RecommendationImportedV2 = _construct(RecommendationImportedV2, fields)
        return v2
    recommendation = RecommendationImportedV1.model_validate(fields)
    return recommendation if annotation_id is None else with_annotation(recommendation, annotation_id)


def with_annotation(recommendation: RecommendationImportedV1, annotation_id: str) -> RecommendationImportedV2:
    """The row as recommendation.imported v2, carrying OHCHR's annotation id (checked by the
    caller against the contract's pattern, in its ASCII form)."""
    if enabled() and type(recommendation) is RecommendationImportedV1 and annotation_id.isascii():
        result: RecommendationImportedV2 = _construct(
            RecommendationImportedV2, {**recommendation.__dict__, "annotation_id": annotation_id})
        return result
    return RecommendationImportedV2.model_validate({**recommendation.model_dump(), "annotation_id": annotation_id})
