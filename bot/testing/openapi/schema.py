"""GitHub's description is OpenAPI 3.0: its schema objects need a small translation to be JSON Schema.

OpenAPI 3.0 spells "or null" as ``nullable: true`` and has keywords JSON Schema does not know; validating
them as-is would refuse every ``null`` GitHub accepts. The translation targets Draft 2020-12.
"""

from __future__ import annotations

from typing import Any

# Keywords whose value is a mapping of name -> schema, a schema, or a list of schemas.
_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
# OpenAPI-only keywords that do not constrain a request.
_OPENAPI_ONLY = frozenset({"nullable", "discriminator", "readOnly", "writeOnly", "xml", "deprecated"})


def to_json_schema(schema: Any) -> Any:
    """The Draft 2020-12 equivalent of an OpenAPI 3.0 schema object (booleans pass through)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY or key.startswith("x-"):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES:
            out[key] = to_json_schema(value)
        elif key in _SCHEMA_LISTS:
            out[key] = [to_json_schema(sub) for sub in value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if value and bound in schema:
                out[key] = schema[bound]
        else:
            out[key] = value
    if "exclusiveMinimum" in out and schema.get("exclusiveMinimum") is True:
        out.pop("minimum", None)
    if "exclusiveMaximum" in out and schema.get("exclusiveMaximum") is True:
        out.pop("maximum", None)
    if schema.get("nullable") is True:
        return _or_null(out)
    return out


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow ``null`` too; a plain ``type`` widens in place so error messages stay readable."""
    kind = schema.get("type")
    if isinstance(kind, str) and not _combines(schema):
        widened = {**schema, "type": [kind, "null"]}
        if "enum" in schema:
            widened["enum"] = [*schema["enum"], None]
        return widened
    return {"anyOf": [schema, {"type": "null"}]}


def _combines(schema: dict[str, Any]) -> bool:
    return any(key in schema for key in _SCHEMA_LISTS)
