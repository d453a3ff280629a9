"""`load_program`: the program file (JSON or YAML) into the database, all of it or none of it.

Each section is validated whole before anything is written; every problem is reported with the path of
the offending field (`program.expiry.months`, `shops[1].code`). Objects are matched by `code` and only
saved when a value differs, so loading the same file twice changes nothing. This module owns the file and
the `program` section; each concern registers its own section (`section_register`, in load order) from its
`loading.py` when Django starts.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from django.db import transaction
from rest_framework import serializers

from loyalty.errors import error_paths
from loyalty.money import CURRENCY_MINOR_UNITS
from loyalty.program.models import Program
from loyalty.program.selectors import settings_cache_clear


class ProgramFileError(Exception):
    """The file cannot be loaded; `problems` are `(path, message)` pairs. Nothing was written."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))


@dataclass
class SectionReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass(frozen=True)
class Section:
    name: str
    serializer: Callable[[], serializers.BaseSerializer]
    apply: Callable[[object, SectionReport], None]


@dataclass
class LoadReport:
    sections: dict[str, SectionReport] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{name}: {report}" for name, report in self.sections.items()) or "nothing to load"


# --- reading ----------------------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    pass


def _pairs_without_repeats(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object, refusing a key given twice: the parser would silently keep the last one."""
    mapping = {}
    for key, value in pairs:
        if key in mapping:
            raise _DuplicateKey(f"the key {key!r} is given twice in one object")
        mapping[key] = value
    return mapping


class _DecimalSafeLoader(yaml.SafeLoader):
    """YAML without floats: `0.01` becomes Decimal('0.01'), exactly as written; a key given twice in one
    mapping is refused (YAML would silently keep the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_DecimalSafeLoader.add_constructor(
    "tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node).replace("_", ""))
)


def program_file_read(path: Path) -> object:
    """The parsed document. Raises ProgramFileError for an unreadable or malformed file."""
    # A problem with the file as a whole is reported against the file's name, not a field path.
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProgramFileError([(name, "cannot read the file: it is not UTF-8 text")]) from exc
    except OSError as exc:
        raise ProgramFileError([(name, f"cannot read the file: {exc.strerror or exc}")]) from exc
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            return yaml.load(text, Loader=_DecimalSafeLoader)  # noqa: S506 (a SafeLoader subclass)
        except yaml.YAMLError as exc:
            raise ProgramFileError([(name, f"not valid YAML: {exc}")]) from exc
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_pairs_without_repeats)
    except (json.JSONDecodeError, _DuplicateKey) as exc:
        raise ProgramFileError([(name, f"not valid JSON: {exc}")]) from exc


# --- validation -------------------------------------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know: in an operator's file a typo must not be silently dropped."""

    def to_internal_value(self, data):
        unknown = (
            {key: ["unknown field"] for key in sorted(set(data) - set(self.fields))} if isinstance(data, dict) else {}
        )
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **unknown}) from exc
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class ExpiryIn(StrictSerializer):
    policy = serializers.ChoiceField(choices=Program.ExpiryPolicy.values)
    months = serializers.IntegerField(min_value=1, max_value=1200, required=False)
    years = serializers.IntegerField(min_value=0, max_value=100, required=False)

    def validate(self, attrs: dict) -> dict:
        policy = attrs["policy"]
        needs = {"rolling": "months", "inactivity": "months", "end_of_year": "years", "never": None}[policy]
        for name in ("months", "years"):
            if name == needs and name not in attrs:
                raise serializers.ValidationError({name: [f"required by the {policy} policy"]})
            if name != needs and name in attrs:
                raise serializers.ValidationError({name: [f"not used by the {policy} policy"]})
        return attrs


class ProgramIn(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    currency = serializers.ChoiceField(choices=sorted(CURRENCY_MINOR_UNITS), required=False)
    points_per_currency_unit = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal(0), required=False
    )
    point_value = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=Decimal(0), required=False)
    pending_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    expiry = ExpiryIn(required=False)
    max_backdate_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
    allow_negative_balance = serializers.BooleanField(required=False)
    tier_window_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    hold_ttl_minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60, required=False)
    subscription_grace_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    excluded_categories = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=500, required=False
    )
    adjustment_approval_points = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, allow_null=True, required=False
    )


def refuse_repeats(items: list[dict], field: str, message: str) -> None:
    """A ValidationError naming every item (by index) whose `field` repeats an earlier item's."""
    seen: set = set()
    errors: list[dict] = []
    for item in items:
        errors.append({field: [message]} if item[field] in seen else {})
        seen.add(item[field])
    if any(errors):
        raise serializers.ValidationError(errors)


class CodedListSerializer(serializers.ListSerializer):
    """A list of objects identified by `code`: each code at most once."""

    def validate(self, attrs: list) -> list:
        refuse_repeats(attrs, "code", "appears more than once")
        return attrs


def coded_list(child: type[serializers.Serializer]) -> Callable[[], serializers.BaseSerializer]:
    return lambda: CodedListSerializer(child=child(), max_length=10_000)


# --- applying ---------------------------------------------------------------------------------------


def save_if_changed(instance, values: dict, report: SectionReport) -> None:
    """Create `instance` or update the fields that differ; count what happened."""
    if instance.pk is None or instance._state.adding:
        for name, value in values.items():
            setattr(instance, name, value)
        instance.save(force_insert=True)
        report.count("created")
        return
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    if changed:
        instance.save(update_fields=changed + [f.name for f in instance._meta.fields if getattr(f, "auto_now", False)])
        report.count("updated")
    else:
        report.count("unchanged")


def _program_apply(data: dict, report: SectionReport) -> None:
    values = {key: value for key, value in data.items() if key != "expiry"}
    if "expiry" in data:
        values |= {
            "expiry_policy": data["expiry"]["policy"],
            "expiry_months": data["expiry"].get("months"),
            "expiry_years": data["expiry"].get("years"),
        }
    program = Program.objects.select_for_update().filter(pk=Program.SINGLETON_PK).first()
    if program is None:
        save_if_changed(Program(pk=Program.SINGLETON_PK), values, report)
    else:
        save_if_changed(program, values, report)


SECTIONS: list[Section] = [Section("program", ProgramIn, _program_apply)]


def section_register(section: Section, *, after: str | None = None) -> None:
    """Add a section to the file format, loaded after `after` (or last)."""
    if any(existing.name == section.name for existing in SECTIONS):
        return
    position = len(SECTIONS) if after is None else [s.name for s in SECTIONS].index(after) + 1
    SECTIONS.insert(position, section)


def program_load(document: object) -> LoadReport:
    """Validate every section of `document`, then write them in one transaction.

    Raises ProgramFileError listing every problem; nothing is written then."""
    if not isinstance(document, dict):
        raise ProgramFileError([("$", "the file must hold an object with sections such as program and shops")])
    known = {section.name for section in SECTIONS}
    problems = [(name, "unknown section") for name in document if name not in known]
    validated: list[tuple[Section, object]] = []
    for section in SECTIONS:
        if section.name not in document:
            continue
        serializer = section.serializer()
        serializer.initial_data = document[section.name]
        try:
            validated.append((section, serializer.run_validation(document[section.name])))
        except serializers.ValidationError as exc:
            problems.extend((path, str(message)) for path, message in error_paths(exc.detail, section.name))
    if problems:
        raise ProgramFileError(problems)
    report = LoadReport()
    with transaction.atomic():
        for section, data in validated:
            report.sections[section.name] = SectionReport()
            section.apply(data, report.sections[section.name])
    settings_cache_clear()
    return report
