"""Renders every word a user reads from `templates/<language>/`: messages and button labels."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.ext import Extension

from bot.application.settings import LANGUAGES

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
LABELS = "labels.txt"  # button labels and command descriptions: plain text, no markup
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}")
_LINE_ENDS_IN_TAG = re.compile(r"(?<![-+])%\}(\s*)$")


class KeepLineBreaks(Extension):
    """`trim_blocks` drops the line break after a block tag, which is right for a line that is only
    a tag (`{% if x %}`) but glues a line of text that ends in one (`…{% endif %}`) to the next:
    "🔔 Herinnering📅 Snertavond". Such a tag keeps its line break (`+%}`, as if written so)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return "\n".join(_keep_break(line) for line in source.split("\n"))


def _keep_break(line: str) -> str:
    if not _TAG.sub("", line).strip():
        return line  # only tags (or nothing): trim_blocks as usual
    return _LINE_ENDS_IN_TAG.sub(r"+%}\1", line)


class Renderer:
    """One jinja2 environment per language; autoescape on for the HTML messages."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR, timezone: ZoneInfo | None = None) -> None:
        self.templates_dir = templates_dir
        self._environments = {language: self._environment(language, timezone) for language in LANGUAGES}
        # Labels without values, by (language, name): a menu is eight of them on every reply.
        self._fixed_labels: dict[tuple[str, str], str] = {}

    def _environment(self, language: str, timezone: ZoneInfo | None) -> Environment:
        environment = Environment(
            loader=FileSystemLoader(self.templates_dir / language),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates do not change while the bot runs; no stat() per render
            extensions=[KeepLineBreaks],
        )
        zone = timezone or ZoneInfo("Europe/Amsterdam")

        def day(moment: datetime) -> str:
            return format_date(moment.astimezone(zone), format="long", locale=language)

        def day_and_time(moment: datetime) -> str:
            return format_datetime(moment.astimezone(zone), format="long", locale=language, tzinfo=zone)

        def moment(at: datetime, has_time: bool = True) -> str:
            from bot.language.dates import describe

            return describe(at, zone, language, has_time)

        def label(name: str, **values: Any) -> str:
            return self.label(language, name, **values)

        environment.filters["day"] = day
        environment.filters["day_and_time"] = day_and_time
        environment.filters["moment"] = moment
        environment.globals["label"] = label
        return environment

    def language(self, code: str) -> str:
        return code if code in self._environments else LANGUAGES[0]

    def render(self, language: str, name: str, /, **values: Any) -> str:
        """A message, from `<name>.html`, HTML-escaped wherever a value is inserted."""
        template = self._environments[self.language(language)].get_template(f"{name}.html")
        return template.render(**values).strip()

    def label(self, language: str, name: str, /, **values: Any) -> str:
        """A button label or other short plain text, from a macro in `labels.txt`."""
        language = self.language(language)
        if values:
            return self._label(language, name, **values)
        fixed = self._fixed_labels.get((language, name))
        if fixed is None:
            fixed = self._fixed_labels[(language, name)] = self._label(language, name)
        return fixed

    def _label(self, language: str, name: str, /, **values: Any) -> str:
        macro = getattr(self._labels(language), name, None)
        if macro is None:
            raise KeyError(f"no label {name!r} in {language}/{LABELS}")
        return str(macro(**values)).strip()

    @cache  # noqa: B019 - one Renderer per process; the module is immutable
    def _labels(self, language: str) -> Any:
        template: Template = self._environments[language].get_template(LABELS)
        return template.module

    def message_names(self, language: str) -> list[str]:
        folder = self.templates_dir / language
        return sorted(str(path.relative_to(folder).with_suffix("")) for path in folder.rglob("*.html"))

    def label_names(self, language: str) -> list[str]:
        module = self._labels(self.language(language))
        return sorted(name for name in dir(module) if not name.startswith("_"))
