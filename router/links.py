"""Which names in a schema belong to which linked spec (`@link` / Fed 1's `@core`).

A schema links a spec (`@link(url: "https://specs.apollo.dev/join/v0.3")`) and then uses
its elements under a namespace (`@join__type`, `join__Graph`), or imported under their own
or a chosen name (`import: ["@key", {name: "@tag", as: "@mytag"}]`). Composition reads the
federation link of each subgraph this way, and the supergraph loader the join/inaccessible
links, so renamed or prefixed directives are recognised and spec machinery can be
stripped from the API schema without a list of hard-coded names."""
from __future__ import annotations

from dataclasses import dataclass, field

from graphql import DirectiveNode, DocumentNode, SchemaDefinitionNode, SchemaExtensionNode, value_from_ast_untyped

APOLLO_SPECS = "https://specs.apollo.dev/"


@dataclass(frozen=True)
class LinkedFeature:
    url: str
    name: str  # the spec's name: "join", "federation", "link", "inaccessible"
    version: str  # "v0.3"
    namespace: str  # the prefix its elements carry: the name, or the link's `as`
    purpose: str | None = None
    # local name -> the spec's own name; directives keep their "@"
    imports: dict[str, str] = field(default_factory=dict)

    @property
    def version_tuple(self) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in self.version.lstrip("v").split("."))
        except ValueError:
            return (0,)

    def directive_name(self, original: str) -> str:
        """The local name of the spec's directive `original` (given without '@')."""
        for local, spec_name in self.imports.items():
            if spec_name == "@" + original:
                return local[1:]
        if original == self.name:
            return self.namespace
        return f"{self.namespace}__{original}"

    def type_name(self, original: str) -> str:
        for local, spec_name in self.imports.items():
            if spec_name == original:
                return local
        return f"{self.namespace}__{original}"

    def canonical_directive(self, local: str) -> str | None:
        """The spec's own name for a local directive name, or None when not this spec's."""
        spec_name = self.imports.get("@" + local)
        if spec_name:
            return spec_name[1:]
        if local == self.namespace:
            return self.name
        if local.startswith(self.namespace + "__"):
            return local[len(self.namespace) + 2 :]
        return None

    def owns_directive(self, local: str) -> bool:
        return self.canonical_directive(local) is not None

    def owns_type(self, local: str) -> bool:
        return local.startswith(self.namespace + "__") or local in self.imports


def parse_spec_url(url: str) -> tuple[str, str]:
    """("join", "v0.3") for "https://specs.apollo.dev/join/v0.3"."""
    parts = [p for p in url.rstrip("/").split("/") if p]
    if len(parts) >= 2 and parts[-1].startswith("v"):
        return parts[-2], parts[-1]
    return (parts[-1] if parts else url), ""


def linked_features(document: DocumentNode) -> list[LinkedFeature]:
    features: list[LinkedFeature] = []
    for definition in document.definitions:
        if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
            for directive in definition.directives or ():
                feature = _feature(directive)
                if feature is not None:
                    features.append(feature)
    return features


def _feature(directive: DirectiveNode) -> LinkedFeature | None:
    if directive.name.value not in ("link", "core"):
        return None
    args = {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments or ()}
    url = args.get("url") or args.get("feature")
    if not isinstance(url, str):
        return None
    name, version = parse_spec_url(url)
    imports: dict[str, str] = {}
    for item in args.get("import") or ():
        if isinstance(item, str):
            imports[item] = item
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            imports[item.get("as") or item["name"]] = item["name"]
    purpose = args.get("for")
    return LinkedFeature(url, name, version, args.get("as") or name, purpose if isinstance(purpose, str) else None, imports)


def find_feature(features: list[LinkedFeature], name: str) -> LinkedFeature | None:
    for feature in features:
        if feature.name == name:
            return feature
    return None
