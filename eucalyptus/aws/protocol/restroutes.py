"""Finding the operation of a REST request from the model's ``http`` traits.

Each operation's ``requestUri`` is compiled once per service: ``{Label}`` matches one path
segment, ``{Label+}`` the rest of the path (slashes included), a static query such as
``?uploads``, ``?acl`` or ``?list-type=2`` must be present. ``x-id=<Operation>`` static queries
are optional (older clients do not send them) but count in favour when present. Among the
operations that match, the most specific wins: most static query keys matched, then most
literal path characters, then most required header/query members present, then fewest
missing, then most query keys the operation models, then not deprecated (a deprecated
operation that shares its wire form with a newer one yields).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote

from eucalyptus.aws.http import HttpRequest
from eucalyptus.aws.specs import operation_model
from eucalyptus.errors import InvalidAction

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass
class Route:
    operation: object
    method: str
    pattern: re.Pattern
    labels: dict[str, str]                      # regex group -> label name
    static_query: list[tuple[str, str | None]]  # required keys (value None: any value)
    optional_query: list[tuple[str, str]]       # x-id
    literal_chars: int
    required_located: list[tuple[str, str]] = field(default_factory=list)  # (location, name)
    query_names: frozenset[str] = frozenset()   # every query key the operation models


def compile_route(operation) -> Route:
    http = operation.http
    template, _, static = http.get("requestUri", "/").partition("?")
    regex, labels, literal = ["^"], {}, 0
    position = 0
    for index, found in enumerate(_LABEL.finditer(template)):
        literal_text = template[position:found.start()]
        regex.append(re.escape(literal_text))
        literal += len(literal_text.replace("/", ""))
        label = found.group(1)
        group = f"g{index}"
        if label.endswith("+"):
            labels[group] = label[:-1]
            regex.append(f"(?P<{group}>.+)")
        else:
            labels[group] = label
            regex.append(f"(?P<{group}>[^/]+)")
        position = found.end()
    tail = template[position:]
    regex.append(re.escape(tail))
    literal += len(tail.replace("/", ""))
    if not template.endswith("/") and not template.endswith("+}"):
        regex.append("/?")
    regex.append("$")
    required, optional = [], []
    for part in filter(None, static.split("&")):
        key, sep, value = part.partition("=")
        if key == "x-id":
            optional.append((key, value))
        else:
            required.append((unquote(key), unquote(value) if sep else None))
    located, query_names = [], {key for key, _ in required}
    shape = operation.input_shape
    if shape is not None:
        for name, member in shape.members.items():
            serialization = member.serialization
            location = serialization.get("location")
            if location == "querystring":
                query_names.add(serialization.get("name", name))
            if name in shape.required_members and location in ("header", "querystring"):
                located.append((location, serialization.get("name", name)))
    return Route(operation, http.get("method", "POST").upper(), re.compile("".join(regex)),
                 labels, required, optional, literal, located, frozenset(query_names))


@lru_cache(maxsize=None)
def routes_of(service_model) -> tuple[Route, ...]:
    return tuple(compile_route(operation_model(service_model, name))
                 for name in service_model.operation_names)


@lru_cache(maxsize=None)
def _patterns_by_method(service_model) -> dict[str, tuple[tuple[re.Pattern, tuple], ...]]:
    """method -> ((path pattern, ((model order, route), ...)), ...): each distinct pattern of
    a method is matched once per request, whatever the number of routes sharing it."""
    grouped: dict[str, dict[str, tuple[re.Pattern, list]]] = {}
    for order, route in enumerate(routes_of(service_model)):
        patterns = grouped.setdefault(route.method, {})
        patterns.setdefault(route.pattern.pattern, (route.pattern, []))[1].append((order, route))
    return {method: tuple((pattern, tuple(routes)) for pattern, routes in patterns.values())
            for method, patterns in grouped.items()}


def match(request: HttpRequest, service_model):
    """(OperationModel, {label: decoded value}) for the request, or MethodNotAllowed (405)."""
    query: dict[str, str] = {}
    for key, value in request.query:
        query.setdefault(key, value)
    path = request.path.split("?", 1)[0] or "/"
    best, best_score, best_found = None, None, None
    for pattern, routes in _patterns_by_method(service_model).get(request.method, ()):
        found = pattern.match(path)
        if found is None:
            continue
        for order, route in routes:
            if any(key not in query or (value is not None and query[key] != value)
                   for key, value in route.static_query):
                continue
            if any(key in query and query[key] != value for key, value in route.optional_query):
                continue
            matched_optional = sum(1 for key, _ in route.optional_query if key in query)
            present = sum(1 for location, name in route.required_located
                          if (name in request.headers if location == "header" else name in query))
            score = (len(route.static_query) + matched_optional, route.literal_chars, present,
                     present - len(route.required_located),
                     sum(1 for key in query if key in route.query_names),
                     not route.operation.deprecated, -order)     # ties: the model's order
            if best_score is None or score > best_score:
                best, best_score, best_found = route, score, found
    if best is None:
        raise InvalidAction("MethodNotAllowed",
                            "The specified method is not allowed against this resource.",
                            status=405)
    return best.operation, {best.labels[g]: unquote(v)
                            for g, v in best_found.groupdict().items()}
