"""Validating a resource with its fhir.resources model, leaving out elements already found valid.

An element's validity depends only on its own content (cardinality and choice rules are checked on the
resource, with every primitive, and a required list keeps an item), so a race extension, a language or a
clinic's Location participant that thousands of resources share is checked once, by the same model,
instead of once per resource. The same holds one level down, for an optional complex element inside a
list item: an identifier's MR type is checked once, the identifier's own value with every resource.

What is left still differs in every resource by a few primitive values (its id, an appointment's start,
an MRN, a phone number, the patient reference). With those set apart, most resources have one of a few
shapes: a shape the model accepted is remembered, and a resource of that shape is checked value by value
with the validators of those values' own fields (`LIFTED`), instead of building the models again.

Remembering costs a key per element (its repr), which is wasted on elements that are new in every
resource: an element (or a shape) that is seldom found again is, for a while, no longer looked up; it is
validated with the resource as any element is. Only the work done changes, never the verdict: whatever
fails is validated again whole, and the model's error on the whole resource is the one reported.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fhir.resources.R4B.address import Address
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.reference import Reference
from pydantic import TypeAdapter, ValidationError

# Elements whose validation is remembered by content, per resource type, and whether the resource must
# have one (such a list keeps at least one item). Never primitives or choice elements: those are checked
# together with their siblings at the resource level.
MEMO_FIELDS: dict[str, dict[str, bool]] = {
    "Patient": dict.fromkeys(
        ("meta", "extension", "identifier", "name", "telecom", "address", "communication", "contact",
         "maritalStatus", "generalPractitioner", "managingOrganization", "link"),
        False,
    ),
    "Appointment": {
        **dict.fromkeys(
            ("meta", "extension", "identifier", "serviceCategory", "serviceType", "specialty",
             "appointmentType", "reasonCode", "basedOn"),
            False,
        ),
        "participant": True,
    },
    # `class` is required and one element (not a list), so it is validated with every Encounter.
    "Encounter": dict.fromkeys(
        ("meta", "extension", "identifier", "type", "serviceType", "priority", "participant",
         "reasonCode", "location", "serviceProvider", "episodeOfCare"),
        False,
    ),
}  # fmt: skip
# Inside an item of these lists, optional complex elements (0..1 or 0..*, none a choice) remembered alike.
NESTED: dict[str, tuple[str, ...]] = {
    "identifier": ("type", "period", "assigner"),
    "name": ("period",),
    "telecom": ("period",),
    "address": ("period",),
}
# Primitive values that differ from resource to resource (ids, instants, MRNs, numbers, references), by
# where they sit ("*": each item of a list) and the model whose field they are. With these set apart, a
# resource has the shape of many others; a shape the model accepted is remembered, and a resource of that
# shape is valid when each value set apart is valid for its field (the models' own checks across fields,
# required elements and choices, look only at which elements are present, never at their values).
LIFTED: dict[str, tuple[tuple[tuple[str, ...], Any], ...]] = {
    "Patient": (
        (("id",), Patient), (("birthDate",), Patient),
        (("identifier", "*", "value"), Identifier), (("telecom", "*", "value"), ContactPoint),
        (("name", "*", "family"), HumanName), (("address", "*", "postalCode"), Address),
        (("address", "*", "city"), Address), (("address", "*", "text"), Address),
    ),
    "Appointment": (
        (("id",), Appointment), (("start",), Appointment), (("end",), Appointment),
        (("participant", "*", "actor", "reference"), Reference),
    ),
}  # fmt: skip
SHAPE = "\x00"  # what a value set apart is replaced with in a shape (never in parsed JSON as a whole value)
MEMO_LIMIT = 16384
PROBES = 256  # lookups of an element before its hit rate is judged
RARE = 16  # fewer hits than one lookup in this many: the element is not looked up for a while
REST = 8192  # how many times it is passed over before it is tried again

_memo: set[str] = set()
_stats: dict[str, list[int]] = {}  # "Patient.identifier" → [lookups, hits, passed over]


def _key(path: str, value: object) -> str:
    # repr of parsed JSON (dicts, lists, strings, numbers, booleans, null) tells equal content apart from
    # any other; the same content in another key order is only a miss.
    return f"{path}:{value!r}"


def _looked_up(path: str) -> list[int] | None:
    """The element's counters while it is worth looking up, else None (and it is passed over once)."""
    stat = _stats.get(path)
    if stat is None:
        stat = _stats[path] = [0, 0, 0]
    if stat[0] < PROBES or stat[1] * RARE >= stat[0]:
        return stat
    stat[2] += 1
    if stat[2] >= REST:
        stat[0] = stat[1] = stat[2] = 0
    return None


def _seen(path: str, value: object, stat: list[int], fresh: list[str]) -> bool:
    """Whether the element was found valid before, counted in `stat`; a new one's key goes to `fresh`."""
    key = _key(path, value)
    stat[0] += 1
    if key in _memo:
        stat[1] += 1
        return True
    fresh.append(key)
    return False


def _item(path: str, item: Any, fresh: list[str]) -> Any:
    """A list item with its remembered inner elements left out (the item itself when none is)."""
    inner = NESTED.get(path.partition(".")[2])
    if not inner or not isinstance(item, dict):
        return item
    kept = None
    for name in inner:
        value = item.get(name)
        if not isinstance(value, (dict, list)) or (stat := _looked_up(f"{path}.{name}")) is None:
            continue
        if _seen(f"{path}.{name}", value, stat, fresh):
            kept = dict(item) if kept is None else kept
            del kept[name]
    return item if kept is None else kept


def _new_items(path: str, items: list[Any], stat: list[int], fresh: list[str]) -> list[Any]:
    """The items of a list not found valid before (their own remembered elements left out)."""
    kept = []
    for item in items:
        if not _seen(path, item, stat, fresh):
            kept.append(_item(path, item, fresh))
    return kept


def _pruned(kind: str, data: dict[str, Any], fresh: list[str]) -> dict[str, Any]:
    """The resource without the elements found valid before; keys of the new ones go to `fresh`."""
    fields = MEMO_FIELDS.get(kind, {})
    pruned: dict[str, Any] = {}
    for name, value in data.items():
        required = fields.get(name)
        path = f"{kind}.{name}"
        if required is None or (stat := _looked_up(path)) is None:
            if required is not None and isinstance(value, list) and name in NESTED:
                pruned[name] = [_item(path, item, fresh) for item in value]
            else:
                pruned[name] = value
        elif isinstance(value, list):
            kept = _new_items(path, value, stat, fresh)
            if kept or (required and value):
                pruned[name] = kept or value[:1]
        elif isinstance(value, dict):
            if not _seen(path, value, stat, fresh):
                pruned[name] = value
        else:
            pruned[name] = value
    return pruned


@lru_cache(maxsize=64)
def _field(model: Any, name: str) -> TypeAdapter[Any]:
    """The validator of one field of a model, as the model applies it."""
    info = model.model_fields[name]
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


def _lift(value: Any, path: tuple[str, ...], model: Any, out: list[tuple[Any, str, str]]) -> Any:
    """`value` with the string at `path` replaced by SHAPE; (model, field, string) of each go to `out`."""
    head, rest = path[0], path[1:]
    if head == "*":
        if not isinstance(value, list):
            return value
        return [_lift(item, rest, model, out) for item in value]
    if not isinstance(value, dict) or head not in value:
        return value
    inner = value[head]
    if not rest:
        if not isinstance(inner, str):
            return value
        out.append((model, head, inner))
        return {**value, head: SHAPE}
    lifted = _lift(inner, rest, model, out)
    return value if lifted is inner else {**value, head: lifted}


def _shape(kind: str, pruned: dict[str, Any]) -> tuple[str, list[tuple[Any, str, str]]] | None:
    """The pruned resource's shape key and the values set apart, or None (not a kind with values to lift,
    or shapes of this kind seldom repeat)."""
    lifts = LIFTED.get(kind)
    if not lifts or (stat := _looked_up(f"{kind}#shape")) is None:
        return None
    values: list[tuple[Any, str, str]] = []
    shaped: Any = pruned
    for path, model in lifts:
        shaped = _lift(shaped, path, model, values)
    stat[0] += 1
    return _key(f"{kind}#shape", shaped), values


def _values_valid(values: list[tuple[Any, str, str]]) -> bool:
    try:
        for model, name, value in values:
            _field(model, name).validate_python(value)
    except ValidationError:
        return False
    return True


def validate(model: Any, kind: str, data: dict[str, Any]) -> None:
    """Raise the model's ValidationError when `data` is not a valid resource of its type.

    A failure of the pruned resource is validated again whole, so the error names the element's true
    place. A required list left empty (`"participant": []`, which the models let through) fails pruned and
    is refused with that error."""
    fresh: list[str] = []
    pruned = _pruned(kind, data, fresh)
    shape = _shape(kind, pruned)
    if shape is not None and shape[0] in _memo:
        _stats[f"{kind}#shape"][1] += 1
        if not _values_valid(shape[1]):
            model.model_validate(data)  # raises, naming the element (else the resource is valid)
        return
    try:
        model.model_validate(pruned)
    except ValidationError:
        model.model_validate(data)
        raise
    if shape is not None:
        fresh.append(shape[0])
    if len(_memo) + len(fresh) > MEMO_LIMIT:
        _memo.clear()
    _memo.update(fresh)
