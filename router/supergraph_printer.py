"""The merged schema printed as a supergraph SDL in Apollo's format (link v1.0, join v0.3),
so Apollo's tools and other gateways can read what we compose, and we read theirs."""
from __future__ import annotations

from graphql import print_ast
from graphql.language.block_string import print_block_string
from graphql.language.print_string import print_string

from router.merged_schema import MergedArgument, MergedSchema, MergedType
from router.subgraph_schema import Applied

JOIN_URL = "https://specs.apollo.dev/join/v0.3"
LINK_URL = "https://specs.apollo.dev/link/v1.0"
INACCESSIBLE_URL = "https://specs.apollo.dev/inaccessible/v0.2"
TAG_URL = "https://specs.apollo.dev/tag/v0.3"

_INACCESSIBLE = (
    "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR "
    "| ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)
_JOIN_DIRECTIVES = [
    "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE",
    "directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, "
    "external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION",
    "directive @join__graph(name: String!, url: String!) on ENUM_VALUE",
    "directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE",
    "directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, "
    "isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR",
    "directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION",
    "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA",
]
_TAG = (
    "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION "
    "| SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA"
)
_LINK_PURPOSE = '''enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}'''

_KEYWORDS = {"OBJECT": "type", "INTERFACE": "interface", "UNION": "union", "ENUM": "enum", "INPUT_OBJECT": "input", "SCALAR": "scalar"}


def print_supergraph(schema: MergedSchema) -> str:
    inaccessible, tag = schema.uses_inaccessible, schema.uses_tag
    links = [f'@link(url: "{LINK_URL}")', f'@link(url: "{JOIN_URL}", for: EXECUTION)']
    if inaccessible:
        links.append(f'@link(url: "{INACCESSIBLE_URL}", for: SECURITY)')
    if tag:
        links.append(f'@link(url: "{TAG_URL}")')
    blocks = [
        "schema\n"
        + "".join(f"  {link}\n" for link in links)
        + "{\n"
        + "".join(f"  {kind}: {name}\n" for kind, name in schema.roots.items())
        + "}"
    ]
    if inaccessible:
        blocks.append(_INACCESSIBLE)
    blocks.extend(_JOIN_DIRECTIVES)
    if tag:
        blocks.append(_TAG)
    blocks.append("scalar join__FieldSet")
    blocks.append(
        "enum join__Graph {\n"
        + "".join(f'  {value} @join__graph(name: {print_string(name)}, url: {print_string(url)})\n' for value, name, url in schema.graphs)
        + "}"
    )
    blocks.append("scalar link__Import")
    blocks.append(_LINK_PURPOSE)
    blocks.extend(_print_type(t) for t in schema.types)
    return "\n\n".join(blocks) + "\n"


def _args(values: dict) -> str:
    parts = []
    for name, value in values.items():
        if isinstance(value, bool):
            printed = "true" if value else "false"
        elif name in ("graph",):
            printed = value
        else:
            printed = print_string(str(value))
        parts.append(f"{name}: {printed}")
    return ", ".join(parts)


def _description(description, indent: str) -> str:
    if description is None:
        return ""
    text = print_block_string(description.value) if "\n" in description.value or len(description.value) > 70 else print_string(description.value)
    return "".join(indent + line + "\n" if line else "\n" for line in text.split("\n"))


def _applied(applied: Applied) -> list[str]:
    printed = []
    if applied.deprecated is not None:
        printed.append(print_ast(applied.deprecated))
    printed.extend(print_ast(d) for d in applied.other)
    if applied.inaccessible:
        printed.append("@inaccessible")
    printed.extend(f"@tag(name: {print_string(tag)})" for tag in applied.tags)
    return printed


def _print_type(merged: MergedType) -> str:
    head = f"{_KEYWORDS[merged.kind]} {merged.name}"
    if merged.interfaces:
        head += " implements " + " & ".join(merged.interfaces)
    directives = [f"@join__implements(graph: {g}, interface: {print_string(i)})" for g, i in merged.implements]
    directives += [f"@join__type({_args(j)})" for j in merged.join_types]
    directives += [f"@join__unionMember(graph: {g}, member: {print_string(m)})" for g, m in merged.union_members]
    directives += _applied(merged.applied)
    text = _description(merged.description, "") + head + "".join(f"\n  {d}" for d in directives)
    if merged.kind == "UNION":
        return text + ("\n  = " + " | ".join(merged.members) if merged.members else "")
    if merged.kind == "SCALAR":
        return text
    body = []
    if merged.kind == "ENUM":
        for value in merged.values:
            line = value.name + "".join(f" @join__enumValue(graph: {g})" for g in value.graphs)
            line += "".join(" " + d for d in _applied(value.applied))
            body.append(_description(value.description, "  ") + "  " + line)
    else:
        for f in merged.fields:
            line = f.name + _print_arguments(f.arguments) + ": " + f.type
            if f.default_value is not None:
                line += " = " + f.default_value
            line += "".join(f" @join__field({_args(j)})" for j in f.joins)
            line += "".join(" " + d for d in _applied(f.applied))
            body.append(_description(f.description, "  ") + "  " + line)
    separator = "\n\n" if any(item.lstrip().startswith('"') for item in body) else "\n"
    return text + ("\n" if directives else " ") + "{\n" + separator.join(body) + "\n}"


def _print_arguments(arguments: list[MergedArgument]) -> str:
    if not arguments:
        return ""
    printed = []
    for argument in arguments:
        text = f"{argument.name}: {argument.type}"
        if argument.default_value is not None:
            text += " = " + argument.default_value
        text += "".join(" " + d for d in _applied(argument.applied))
        printed.append((argument.description, text))
    if not any(description is not None for description, _ in printed):
        return "(" + ", ".join(text for _, text in printed) + ")"
    lines = "".join(_description(description, "    ") + "    " + text + "\n" for description, text in printed)
    return "(\n" + lines + "  )"
