"""The /statistiek chart: members, help and activity answers per month, one PNG in large type.

Read by buurtverbinders, many of them elderly, on a phone: a tall picture as wide as the screen,
type as large as the months allow, and nothing told by colour alone (every bar has its own pattern
and its number on top, and the legends name them). The words come from
`templates/<language>/admin/chart_words.html`.

matplotlib is imported inside `draw` only: the bot does not load it (a second or two, and some
60 MB that stay) until someone asks for a chart. Its object interface is used, not pyplot: no global state, so
charts may be drawn in a worker thread while the bot answers others.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, fields
from html import unescape
from typing import TYPE_CHECKING, Any

from babel.dates import format_date

from bot.network_admin.figures import History

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 13.5, 120  # 1080 × 1620 pixels
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TITLE_CHARACTERS = 30  # a longer title (a long network name) goes on to a second line

# Sizes in points (at 120 dots an inch a point is 1⅔ pixel): on a phone showing the picture across
# its width, the numbers read at about the size of the chat's own text.
TITLE_PT = 32
PANEL_TITLE_PT = 26
TEXT_PT = 22
NUMBER_PT = 20
EDGE_PT = 1.2

# Okabe and Ito's colours, told apart by people who do not see every colour; the patterns tell the
# bars apart in grey too.
INK = "#222222"
MEMBERS_COLOUR = "#0072B2"
THREE_COLOURS = ("#56B4E9", "#E69F00", "#009E73")
THREE_PATTERNS = ("", "//", "xx")


# The words that differ on the village's chart: a network's, and the village's in their place.
VILLAGE_WORDS = {"title": "village_title", "file": "village_file"}


@dataclass(frozen=True)
class ChartWords:
    """Every word on the chart, in one language."""

    language: str
    title: str
    members: str
    members_axis: str
    help: str
    help_axis: str
    asked: str
    taken: str
    done: str
    answers: str
    answers_axis: str
    yes: str
    maybe: str
    no: str
    month_axis: str
    no_help: str
    no_answers: str
    file: str

    @classmethod
    def read(cls, rendered: str, language: str, *, village: bool = False) -> ChartWords:
        """From the rendered template's lines, `name: words` each (unescaped: a chart is not HTML).
        The template has a network's title and file name and the village's: VILLAGE picks."""
        found: dict[str, str] = {}
        for line in rendered.splitlines():
            name, separator, words = line.partition(":")
            if separator and name.strip():
                found[name.strip()] = unescape(words.strip())
        wanted = {field.name for field in fields(cls)} - {"language"} | set(VILLAGE_WORDS.values())
        if found.keys() != wanted:
            missing, unknown = sorted(wanted - found.keys()), sorted(found.keys() - wanted)
            raise ValueError(f"chart words: missing {missing}, unknown {unknown}")
        for name, village_name in VILLAGE_WORDS.items():
            village_words = found.pop(village_name)
            if village:
                found[name] = village_words
        return cls(language=language, **found)

    @property
    def filename(self) -> str:
        return f"{self.file}.png"


def month_names(history: History, language: str) -> list[str]:
    """Short month names, with the year under the first month and under every January."""
    names = []
    for index, first in enumerate(history.months):
        name = format_date(first, "LLL", locale=language)
        names.append(f"{name}\n{first.year}" if index == 0 or first.month == 1 else name)
    return names


def draw(history: History, words: ChartWords) -> bytes:
    """The chart as PNG bytes. It takes a few tenths of a second: call it in a worker thread."""
    from matplotlib.figure import Figure  # here, not at the top: see the module's docstring

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    figure.suptitle(textwrap.fill(words.title, TITLE_CHARACTERS), fontsize=TITLE_PT, fontweight="bold", color=INK)
    members, help_, answers = figure.subplots(3, 1)
    months = month_names(history, words.language)
    _members(members, history, words, months)
    _grouped_bars(
        help_,
        months,
        title=words.help,
        axis=words.help_axis,
        series=((words.asked, history.asked), (words.taken, history.taken), (words.done, history.done)),
        nothing=words.no_help,
    )
    _grouped_bars(
        answers,
        months,
        title=words.answers,
        axis=words.answers_axis,
        series=((words.yes, history.yes), (words.maybe, history.maybe), (words.no, history.no)),
        nothing=words.no_answers,
    )
    answers.set_xlabel(words.month_axis, fontsize=TEXT_PT, color=INK)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _members(axes: Axes, history: History, words: ChartWords, months: list[str]) -> None:
    from matplotlib.ticker import MaxNLocator

    _frame(axes, months, title=words.members, axis=words.members_axis)
    # Months before the network had members are left out, not drawn as a fall to nothing.
    shown = [(index, count) for index, count in enumerate(history.members) if count or any(history.members[:index])]
    xs, ys = [index for index, _ in shown], [count for _, count in shown]
    axes.plot(xs, ys, color=MEMBERS_COLOUR, linewidth=4, marker="o", markersize=14, clip_on=False)
    for x, y in shown:
        axes.annotate(
            str(y), (x, y), textcoords="offset points", xytext=(0, 14), ha="center", fontsize=NUMBER_PT, color=INK
        )
    top = max(ys, default=0)
    axes.set_ylim(0, max(top * 1.3, top + 2))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))


def _grouped_bars(
    axes: Axes,
    months: list[str],
    *,
    title: str,
    axis: str,
    series: tuple[tuple[str, tuple[int, ...]], ...],
    nothing: str,
) -> None:
    from matplotlib.ticker import MaxNLocator

    _frame(axes, months, title=title, axis=axis)
    top = max((max(values) for _, values in series), default=0)
    if not top:
        axes.set_ylim(0, 1)
        axes.set_yticks([])
        axes.text(0.5, 0.5, nothing, transform=axes.transAxes, ha="center", va="center", fontsize=TEXT_PT, color=INK)
        return
    from matplotlib.patches import Patch

    width = 0.8 / len(series)
    legend = []
    for number, ((name, values), colour, pattern) in enumerate(zip(series, THREE_COLOURS, THREE_PATTERNS, strict=True)):
        look: dict[str, Any] = {"facecolor": colour, "hatch": pattern, "edgecolor": INK, "hatchcolor": INK}
        offset = (number - (len(series) - 1) / 2) * width
        shown = [(index + offset, value) for index, value in enumerate(values) if value]  # none: no bar, no line
        bars = axes.bar([x for x, _ in shown], [value for _, value in shown], width * 0.92, linewidth=EDGE_PT, **look)
        axes.bar_label(bars, padding=3, fontsize=NUMBER_PT, color=INK)
        legend.append(Patch(label=name, linewidth=EDGE_PT, **look))
    axes.set_ylim(0, top * 1.6 + 1)  # room for the numbers and, above them, the legend
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    axes.legend(
        handles=legend,
        loc="upper left",
        ncols=len(series),
        fontsize=TEXT_PT,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.2,
    )


def _frame(axes: Axes, months: list[str], *, title: str, axis: str) -> None:
    axes.set_title(title, fontsize=PANEL_TITLE_PT, fontweight="bold", loc="left", color=INK, pad=12)
    axes.set_ylabel(axis, fontsize=TEXT_PT, color=INK)
    axes.set_xticks(range(len(months)), months, fontsize=TEXT_PT, color=INK)
    axes.set_xlim(-0.6, len(months) - 0.4)
    axes.tick_params(axis="y", labelsize=TEXT_PT, colors=INK)
    axes.tick_params(axis="x", length=0)
    axes.grid(axis="y", color="#cccccc", linewidth=1)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
