"""The training deck: real good and bad threads, one per slide, as speech bubbles.

A trainer shows a room what a good reply looks like next to a bad one. Each slide holds
one thread: the customer's posts on the left, the brand's on the right, each with its
time and delay, and under each post the annotations the dashboard shows (slow against
the SLA, deflects to X, template sent N times, empathy, resolved in public). A side
panel says why the thread is in the deck and, for a bad one, what good would have
looked like. Threads too long for a slide continue on the next one.

The deck is anonymised by default (customers, names, e-mails, phones, post ids): it
leaves the room. Text is never smaller than 12 pt, so it reads when projected. Built
with python-pptx, so every box is editable, and `template` puts the slides on a
client's own master.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.presentation import Presentation as PresentationFile
from pptx.slide import Slide, SlideLayout
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Emu, Inches, Pt

from carebench.benchmark.anonymise import anonymise_analysis
from carebench.benchmark.quality import gallery, quality_reasons
from carebench.benchmark.scoring import Analysis
from carebench.dashboard.thread_view import (
    AnnotatedTurn,
    annotate_thread,
    duration,
    template_sizes,
)
from carebench.errors import CareBenchError

# 16:9 at PowerPoint's default widescreen size.
SLIDE_WIDTH = Inches(13.333)
SLIDE_HEIGHT = Inches(7.5)
# Text sizes: the smallest is what the back row must still read.
TITLE_PT = 28
TEXT_PT = 16
SMALL_PT = 12
# Where the bubbles go (inches): the thread column, then the side panel.
TOP = 1.45
BOTTOM = 7.2
BUBBLE_WIDTH = 7.4
CUSTOMER_LEFT = 0.4
BRAND_LEFT = 1.5
GAP = 0.12
PANEL_LEFT = 9.2
PANEL_WIDTH = 3.75

CUSTOMER_FILL = RGBColor(0xF1, 0xF3, 0xF5)
BRAND_FILL = RGBColor(0xD0, 0xEB, 0xFF)
OTHER_FILL = RGBColor(0xFF, 0xF3, 0xBF)
BAD_NOTE = RGBColor(0xC9, 0x2A, 0x2A)
GOOD_NOTE = RGBColor(0x2B, 0x8A, 0x3E)
INK = RGBColor(0x21, 0x25, 0x29)
MUTED = RGBColor(0x49, 0x50, 0x57)

# Badge kinds that mark what went wrong (drawn in red) or right (green).
BAD_BADGES = frozenset({"slow", "deflection", "template", "hedging", "persists", "cannot_help"})
GOOD_BADGES = frozenset({"fast", "empathy", "fix", "solved"})

# What good looks like, per reason the gallery gives for a bad thread
# (`quality.quality_reasons`); matched on the reason's start.
ADVICE: tuple[tuple[str, str], ...] = (
    (
        "slow",
        "Answer within the SLA ({sla}): a first reply in minutes, even if the fix takes longer.",
    ),
    (
        "deflected at first touch",
        "Help in public first; ask for a private channel only for account details, and say why.",
    ),
    (
        "deflected later",
        "Finish what was started in public; move to a private channel only for private details.",
    ),
    (
        "templated",
        "Write to this customer: their name, their words, their problem, not the stock reply.",
    ),
    (
        "no empathy",
        'Acknowledge this customer\'s problem before the fix ("sorry your order is late").',
    ),
    (
        "unresolved",
        "Close the loop: answer the objection, do not just pass the feedback on.",
    ),
    (
        "no public outcome",
        "Finish in public: state the fix or the next step, then check that it worked.",
    ),
    (
        "hedging",
        'Say what you will do and by when, not "we\'ll try".',
    ),
    (
        "agent changed",
        "Keep one agent on the thread, or hand over with the context.",
    ),
    (
        "customer came back",
        "Solve it the first time: the customer had to come back within a week.",
    ),
)


class DeckError(CareBenchError):
    """The deck cannot be built as asked (nothing to show, a bad template file)."""


@dataclass(frozen=True)
class DeckThread:
    """One thread of the deck and why it is there."""

    brand: str
    kind: str  # "good", "bad" or "pinned"
    rank: int
    reasons: str
    note: str
    turns: tuple[AnnotatedTurn, ...]


def advice_for(reasons: str, sla_seconds: float) -> list[str]:
    """What good would have looked like, for the reasons a thread scored badly."""
    found = [part.strip() for part in reasons.split(",") if part.strip()]
    sla = duration(sla_seconds)
    return [
        tip.format(sla=sla)
        for start, tip in ADVICE
        if any(part.startswith(start) for part in found)
    ]


def choose_threads(
    analysis: Analysis,
    *,
    sla_seconds: float,
    good: int = 3,
    bad: int = 3,
    brands: Sequence[str] = (),
    pins: pd.DataFrame | None = None,
    anonymise: bool = True,
) -> list[DeckThread]:
    """The threads of the deck: the pins (in pin order) or each brand's best and worst.

    `brands` limits the gallery (not the pins) to those brands; each gets its own `good`
    best and `bad` worst threads. Anonymising happens on the chosen threads only, after
    they are chosen, so it cannot change which threads are chosen.
    """
    conversations = analysis.conversations
    if brands:
        conversations = conversations[conversations["brand"].isin(list(brands))]
    if pins is not None and pins.empty:
        raise DeckError(
            "No thread is pinned in this store. Pin threads on the dashboard's Conversations "
            "page, or choose the gallery's best and worst (--good N --bad N)."
        )
    if pins is not None:
        keys = pins[["platform", "conversation_id", "note"]].astype("string")
        chosen = keys.merge(
            conversations.astype({"platform": "string", "conversation_id": "string"}),
            on=["platform", "conversation_id"],
        )
        chosen = chosen.assign(
            side="pinned",
            rank=range(1, len(chosen) + 1),
            reasons=quality_reasons(chosen, sla_seconds).to_numpy(),
        )
    else:
        picked = [gallery(conversations, sla_seconds, n) for n in (good, bad)]
        chosen = pd.concat(
            [
                picked[0][picked[0]["side"] == "best"].assign(side="good"),
                picked[1][picked[1]["side"] == "worst"].assign(side="bad"),
            ]
        )
        chosen = chosen.sort_values(["brand", "side", "rank"], ascending=[True, False, True])
        chosen = chosen.assign(note="")
    if chosen.empty:
        raise DeckError(
            "No thread to put in the deck: "
            + (
                "none of the pinned threads is in this store's analysis (pin threads on "
                "the dashboard's Conversations page)."
                if pins is not None
                else "no answered care request for these brands."
            )
        )
    chosen = chosen.reset_index(drop=True)
    chosen["_deck_order"] = range(len(chosen))
    pair = ["platform", "conversation_id"]
    wanted = pd.MultiIndex.from_frame(chosen[pair].astype(str))
    in_deck = pd.MultiIndex.from_frame(analysis.turns[pair].astype(str)).isin(wanted)
    subset = Analysis(
        conversations=chosen,
        turns=analysis.turns[in_deck],
        templates=analysis.templates,
        issues=analysis.issues,
    )
    sizes = template_sizes(subset.turns, subset.templates)
    if anonymise:
        subset = anonymise_analysis(subset)
    by_conversation = dict(
        tuple(subset.turns.groupby(["platform", "conversation_id"], sort=False, observed=True))
    )
    threads = []
    for row in subset.conversations.sort_values("_deck_order").to_dict("records"):
        thread = by_conversation.get((row["platform"], row["conversation_id"]))
        if thread is None:
            continue
        note = row["note"]
        threads.append(
            DeckThread(
                brand=str(row["brand"]),
                kind=str(row["side"]),
                rank=int(row["rank"]),
                reasons=str(row["reasons"] or ""),
                note="" if note is None or pd.isna(note) else str(note),
                turns=tuple(annotate_thread(thread, sla_seconds, sizes)),
            )
        )
    return threads


# -- layout ------------------------------------------------------------------------------


def _lines(text: str, width_in: float, size_pt: int) -> int:
    """Lines a paragraph takes in a box `width_in` wide (average glyph ~0.5 em)."""
    per_line = max(int(width_in * 72 / (size_pt * 0.56)), 10)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def _turn_header(turn: AnnotatedTurn, brand: str) -> str:
    who = {"customer": "Customer", "brand": brand, "other brand": "Another account"}[turn.role]
    when = pd.Timestamp(turn.created_at).strftime("%a %d %b %Y, %H:%M")
    delay = f" · after {duration(turn.delay_seconds)}" if turn.delay_seconds is not None else ""
    return f"{who} · {when}{delay}"


def _turn_text(turn: AnnotatedTurn) -> str:
    return "".join(segment.text for segment in turn.segments).strip() or "(no text)"


def _bubble_height(turn: AnnotatedTurn, brand: str) -> float:
    width = BUBBLE_WIDTH - 0.3
    lines_pt = _lines(_turn_header(turn, brand), width, SMALL_PT) * SMALL_PT
    lines_pt += _lines(_turn_text(turn), width, TEXT_PT) * TEXT_PT
    if turn.badges:
        badges = " · ".join(badge.label for badge in turn.badges)
        lines_pt += _lines(badges, width, SMALL_PT) * SMALL_PT
    return lines_pt * 1.2 / 72 + 0.2


def _pages(thread: DeckThread) -> list[list[tuple[AnnotatedTurn, float]]]:
    """The thread's turns cut into slides that each fit the bubble column."""
    pages: list[list[tuple[AnnotatedTurn, float]]] = [[]]
    used = 0.0
    room = BOTTOM - TOP
    for turn in thread.turns:
        height = min(_bubble_height(turn, thread.brand), room)
        if pages[-1] and used + height > room:
            pages.append([])
            used = 0.0
        pages[-1].append((turn, height))
        used += height + GAP
    return pages


def text_box(slide: Slide, left: float, top: float, width: float, height: float) -> TextFrame:
    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    box.text_frame.word_wrap = True
    return box.text_frame


def text_paragraph(
    frame: TextFrame,
    text: str,
    size: int,
    *,
    bold: bool = False,
    colour: RGBColor = INK,
    first: bool = False,
) -> _Paragraph:
    paragraph = frame.paragraphs[0] if first else frame.add_paragraph()
    paragraph.alignment = PP_ALIGN.LEFT
    run = paragraph.add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = colour
    return paragraph


def blank_layout(deck: PresentationFile) -> SlideLayout:
    """The template's layout with the fewest placeholders (its blank slide)."""
    return min(deck.slide_layouts, key=lambda layout: len(layout.placeholders))


def _title_slide(deck: PresentationFile, title: str, lines: Sequence[str]) -> None:
    slide = deck.slides.add_slide(blank_layout(deck))
    frame = text_box(slide, 0.8, 2.2, 11.7, 1.2)
    text_paragraph(frame, title, 40, bold=True, first=True)
    frame = text_box(slide, 0.8, 3.6, 11.7, 3.0)
    for i, line in enumerate(lines):
        text_paragraph(frame, line, 18, colour=MUTED, first=i == 0)


def thread_slides(deck: PresentationFile, thread: DeckThread, sla_seconds: float) -> None:
    pages = _pages(thread)
    label = {"good": "good example", "bad": "bad example", "pinned": "pinned thread"}
    for number, page in enumerate(pages, start=1):
        slide = deck.slides.add_slide(blank_layout(deck))
        title = f"{thread.brand} · {label.get(thread.kind, thread.kind)} {thread.rank}"
        if len(pages) > 1:
            title += f" ({number}/{len(pages)})"
        frame = text_box(slide, 0.4, 0.3, 12.5, 0.7)
        text_paragraph(frame, title, TITLE_PT, bold=True, first=True)
        if thread.reasons:
            frame = text_box(slide, 0.4, 0.95, 12.5, 0.5)
            text_paragraph(frame, thread.reasons, SMALL_PT + 2, colour=MUTED, first=True)
        top = TOP
        for turn, height in page:
            _bubble(slide, turn, thread.brand, top, height)
            top += height + GAP
        _panel(slide, thread, sla_seconds)


def _bubble(slide: Slide, turn: AnnotatedTurn, brand: str, top: float, height: float) -> None:
    left = CUSTOMER_LEFT if turn.role == "customer" else BRAND_LEFT
    shape = slide.shapes.add_shape(
        MSO_SHAPE.ROUNDED_RECTANGLE, Inches(left), Inches(top), Inches(BUBBLE_WIDTH), Inches(height)
    )
    shape.adjustments[0] = 0.08
    shape.fill.solid()
    shape.fill.fore_color.rgb = {"customer": CUSTOMER_FILL, "brand": BRAND_FILL}.get(
        turn.role, OTHER_FILL
    )
    shape.line.fill.background()
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    for side in ("margin_left", "margin_right"):
        setattr(frame, side, Inches(0.15))
    frame.margin_top = frame.margin_bottom = Inches(0.06)
    text_paragraph(frame, _turn_header(turn, brand), SMALL_PT, bold=True, colour=MUTED, first=True)
    text_paragraph(frame, _turn_text(turn), TEXT_PT)
    if turn.badges:
        paragraph = frame.add_paragraph()
        paragraph.alignment = PP_ALIGN.LEFT
        for i, badge in enumerate(turn.badges):
            run = paragraph.add_run()
            run.text = (" · " if i else "") + badge.label
            run.font.size = Pt(SMALL_PT)
            run.font.italic = True
            run.font.color.rgb = (
                BAD_NOTE
                if badge.kind in BAD_BADGES
                else GOOD_NOTE
                if badge.kind in GOOD_BADGES
                else MUTED
            )


def _is_fault(reason: str) -> bool:
    return any(reason.startswith(start) for start, _ in ADVICE)


def _panel(slide: Slide, thread: DeckThread, sla_seconds: float) -> None:
    frame = text_box(slide, PANEL_LEFT, TOP, PANEL_WIDTH, BOTTOM - TOP)
    reasons = [part.strip() for part in thread.reasons.split(",") if part.strip()]
    faults = [reason for reason in reasons if _is_fault(reason)]
    merits = [reason for reason in reasons if not _is_fault(reason)]
    first = True
    for heading, parts, colour in (
        ("What went well", merits, GOOD_NOTE),
        ("What went wrong", faults, BAD_NOTE),
    ):
        if parts:
            text_paragraph(frame, heading, TEXT_PT + 2, bold=True, colour=colour, first=first)
            first = False
            for part in parts:
                text_paragraph(frame, "• " + part, TEXT_PT - 2)
    if thread.note:
        text_paragraph(frame, "Trainer's note", TEXT_PT + 2, bold=True, first=first)
        first = False
        text_paragraph(frame, thread.note, TEXT_PT - 2)
    tips = advice_for(thread.reasons, sla_seconds)
    if tips:
        text_paragraph(frame, "What good looks like", TEXT_PT + 2, bold=True, first=first)
        for tip in tips:
            text_paragraph(frame, "• " + tip, TEXT_PT - 2)


def open_presentation(template: str | Path | None) -> PresentationFile:
    """A new 16:9 presentation, or one on a client's template (its master and size)."""
    if template is None:
        deck = Presentation()
        deck.slide_width, deck.slide_height = Emu(SLIDE_WIDTH), Emu(SLIDE_HEIGHT)
        return deck
    try:
        return Presentation(str(template))
    except Exception as exc:  # python-pptx raises zip, XML and key errors alike
        raise DeckError(
            f"{template}: cannot use it as a template ({exc}). Pass a .pptx file saved "
            "by PowerPoint, LibreOffice or Keynote."
        ) from exc


def build_deck(
    threads: Sequence[DeckThread],
    output: str | Path,
    *,
    sla_seconds: float,
    subtitle: Sequence[str] = (),
    template: str | Path | None = None,
) -> int:
    """Write the deck (a title slide, then the threads); returns the number of slides."""
    deck = open_presentation(template)
    generated = datetime.now(UTC).strftime("%d %b %Y")
    count = f"{len(threads)} thread{'s' if len(threads) != 1 else ''}"
    _title_slide(
        deck,
        "Good and bad replies: real threads",
        [*subtitle, f"{count} · SLA {duration(sla_seconds)} · made {generated}"],
    )
    for thread in threads:
        thread_slides(deck, thread, sla_seconds)
    deck.save(str(output))
    return len(deck.slides)


def deck_subtitle(threads: Sequence[DeckThread], anonymised: bool, store: str) -> list[str]:
    """The title slide's lines: brands, what was chosen, store and privacy."""
    brands = sorted({thread.brand for thread in threads})
    kinds = sorted({thread.kind for thread in threads})
    return [
        "Brands: " + ", ".join(brands),
        "Threads: " + " and ".join(kinds) + (" · anonymised" if anonymised else ""),
        f"Store: {store}",
    ]
