"""Statements SQLAlchemy would otherwise compile on every execution.

PostgreSQL's ``INSERT … ON CONFLICT`` construct opts out of SQLAlchemy's statement cache (its dialect
``Insert`` sets ``inherit_cache = False``), so each execution rebuilds its SQL: ~0.2 ms of CPU, several
times per vote, attendance or rate-limited request. ``compiled_once`` keeps the readable Core construct
as the source and turns it, once, into the equivalent text construct, which the cache does keep.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, bindparam, column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import TextualSelect

from podium.mechanisms import enabled

_DIALECT = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
_DIALECT.bind_typing = BindTyping.NONE  # no ``::UUID`` after the names: the text construct types them


def compiled_once(statement: UpdateBase) -> TextClause | TextualSelect:
    """``statement``'s SQL, its parameters (with their types and constant values) and its RETURNING
    columns, as a cacheable text construct. Only for constant statements: values come as parameters.
    With the mechanism switched off (``podium.mechanisms``), the construct itself, compiled per execution."""
    compiled = statement.compile(dialect=_DIALECT)
    if not enabled("prebuilt_statements"):
        return statement  # type: ignore[return-value]
    if compiled.insert_prefetch or compiled.update_prefetch:
        # Python-side defaults are computed per execution; frozen here, they would insert NULL.
        raise ValueError("compiled_once needs every column with a Python-side default given a value")
    params: list[Any] = [
        bindparam(name, value=bind.value, type_=bind.type, required=bind.required)
        for bind, name in compiled.bind_names.items()
    ]
    clause = text(compiled.string).bindparams(*params)
    returning = statement.returning_column_descriptions
    if not returning:
        return clause
    return clause.columns(*(column(c["name"], c["type"]) for c in returning))
