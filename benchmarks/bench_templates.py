"""Time and memory of the templated-reply detector on synthetic brand replies.

Usage: python benchmarks/bench_templates.py [--posts N] [--brands B] [--seed S]

The posts imitate TWCS brand replies: a dozen brands, each with template families
(several phrasings of one answer) filled with @handles, customer names, order numbers,
booking codes, links and agent sign-offs, mixed with free-text replies. Prints wall time
and peak memory of `normalise_text`, `find_templates` (which normalises again, so its time
includes the first line) and `top_templates`, and what was found.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carebench.benchmark.templates import (
    find_templates,
    normalise_text,
    templated_ratio,
    top_templates,
)

BRANDS = (
    "AirAsiaSupport",
    "AppleSupport",
    "AskRBC",
    "AmazonHelp",
    "comcastcares",
    "Delta",
    "McDonalds",
    "NikeSupport",
    "SpotifyCares",
    "TMobileHelp",
    "Uber_Support",
    "Walmart",
)
SIGNOFFS = ("^{}", "-{}", "/{}", "*{}", " - {}", "")
NAMES = (
    "Sarah",
    "Mike",
    "Jess",
    "Tom",
    "Angel",
    "Dean",
    "Mitch",
    "Kerry",
    "Ainil",
    "Jordan",
    "Salvo",
    "Rajesh",
    "Priya",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Ava",
    "Mia",
    "Zoe",
    "Ethan",
    "Chloe",
    "Ben",
    "Sofia",
    "Omar",
    "Yuki",
    "Chen",
    "Fatima",
    "Ivan",
)
AGENTS = (
    "JL",
    "EC",
    "PQ",
    "RB",
    "TB",
    "SU",
    "DR",
    "Becky",
    "Donna",
    "Jazz",
    "Rad",
    "Valerie",
    "CG",
    "JS",
    "MX",
    "NQ",
    "Sam",
    "Anwar",
    "Mi",
)
OPENERS = ("Hi {name}!", "Hey {name},", "Hello {name}.", "Hi there!", "Hey!", "")
ANSWERS = (
    "Can you DM us your account's email address? We'll take a look backstage",
    "We've just sent a DM your way. Let's carry on chatting there",
    "Please DM us your order number {order} and the email address on the order",
    "Your booking {code} is confirmed. Thank you and have a great flight",
    "Sorry for the wait. Please call us at 1-800-{n3}-{n4} so our team can look into it",
    "Thanks for reaching out! Try restarting your device, then update to the latest version",
    "We're sorry to hear that. Case {case} has been escalated to the right team for you",
    "Glad we could help! Let us know if there's anything else we can do for you",
    "Head this way to crush those cravings! Stop by anytime today",
    "We'd love to help. Join us in DM so we can better assist you: {url}",
    "The refund of ${n2}.{n2} for order #{code} will reach your account in 5-7 business days",
    "We offer support via Twitter in English. Get help in your language here: {url}",
)
# Variations a human agent makes to a template: a word swapped, an ending added.
ENDINGS = ("", "", "", " Thanks!", " :)", " 🙂", " Cheers", " Happy listening! 🎧")
SWAPS = (("Please", "Kindly"), ("look", "peek"), ("sorry", "so sorry"), ("help", "assist"))
CANNED_PER_BRAND = 60
COMMON_WORDS = (
    "the",
    "a",
    "to",
    "you",
    "we",
    "your",
    "and",
    "for",
    "it",
    "is",
    "that",
    "this",
    "can",
    "of",
    "on",
    "in",
    "with",
    "be",
    "us",
    "our",
    "please",
    "let",
    "know",
    "if",
    "have",
    "are",
    "not",
    "will",
    "do",
    "what",
    "so",
    "help",
    "more",
    "here",
    "about",
    "any",
    "get",
    "there",
    "when",
    "app",
    "account",
    "order",
    "phone",
    "device",
    "update",
    "issue",
    "team",
    "store",
    "flight",
    "card",
    "payment",
    "refund",
    "bag",
    "seat",
    "delivery",
    "store",
    "song",
    "playlist",
    "music",
    "premium",
    "family",
    "plan",
    "bill",
    "network",
    "signal",
    "sorry",
    "thanks",
    "great",
    "happy",
    "glad",
    "hear",
    "see",
    "check",
    "look",
    "try",
    "again",
    "restart",
    "settings",
    "email",
    "details",
    "share",
    "send",
    "info",
    "link",
    "page",
    "site",
    "today",
    "tomorrow",
    "soon",
    "time",
    "hour",
    "day",
    "week",
    "month",
)


@dataclass(frozen=True)
class Stage:
    """One measured step: wall and CPU seconds, resident memory before and at its peak."""

    name: str
    seconds: float
    cpu_seconds: float
    rss_before_mb: float
    rss_peak_mb: float


def synthetic_posts(count: int, brands: int, seed: int) -> pd.DataFrame:
    """`count` brand replies of `brands` brands, about half from templates."""
    rng = np.random.default_rng(seed)
    brand_names = np.array(BRANDS[:brands] if brands <= len(BRANDS) else _more_brands(brands))
    brand = brand_names[rng.integers(0, len(brand_names), count)]
    templated = rng.random(count) < 0.5
    texts = np.empty(count, dtype=object)
    handles = rng.integers(100_000, 900_000, count)
    texts[templated] = _template_texts(rng, brand[templated], handles[templated])
    texts[~templated] = _free_texts(rng, int((~templated).sum()), handles[~templated])
    return pd.DataFrame(
        {
            "brand": pd.array(brand, dtype="string"),
            "post_id": pd.array(np.arange(count).astype(str), dtype="string"),
            "text": pd.array(texts, dtype="string"),
        }
    )


def _more_brands(count: int) -> list[str]:
    """Brand names beyond the built-in dozen."""
    return list(BRANDS) + [f"Brand{i}" for i in range(count - len(BRANDS))]


def _vocabulary(rng: np.random.Generator, size: int = 5_000) -> tuple[np.ndarray, np.ndarray]:
    """Support words plus made-up ones, with Zipf-Mandelbrot frequencies (like English)."""
    syllables = (
        "ka",
        "ri",
        "mo",
        "te",
        "lu",
        "sa",
        "ne",
        "pi",
        "do",
        "va",
        "re",
        "lo",
        "mi",
        "ta",
        "su",
        "ve",
        "na",
        "co",
        "pe",
    )
    made_up = {"".join(rng.choice(syllables, int(rng.integers(2, 4)))) for _ in range(size * 2)}
    words = np.array(list(COMMON_WORDS) + sorted(made_up)[: size - len(COMMON_WORDS)])
    weights = 1.0 / (np.arange(len(words)) + 2.7)
    return words, weights / weights.sum()


def _template_texts(rng: np.random.Generator, brand: np.ndarray, handles: np.ndarray) -> list[str]:
    """Replies from each brand's template families, with fills and small human edits."""
    count = len(brand)
    words, weights = _vocabulary(rng)
    # Each brand also has canned answers of its own (10-25 words), besides the shared ones.
    canned = {
        name: [
            " ".join(rng.choice(words, int(rng.integers(10, 26)), p=weights)).capitalize()
            for _ in range(CANNED_PER_BRAND)
        ]
        for name in np.unique(brand)
    }
    family = rng.zipf(1.3, count) % (len(ANSWERS) + CANNED_PER_BRAND)
    opener = rng.integers(0, len(OPENERS), count)
    name = rng.integers(0, len(NAMES), count)
    agent = rng.integers(0, len(AGENTS), count)
    signoff = rng.integers(0, len(SIGNOFFS), count)
    ending = rng.integers(0, len(ENDINGS), count)
    swap = rng.integers(-len(SWAPS) * 3, len(SWAPS), count)
    numbers = rng.integers(0, 10**9, (count, 4))
    texts = []
    for i in range(count):
        if family[i] < len(ANSWERS):
            body = ANSWERS[family[i]].format(
                order=numbers[i, 0],
                code=f"{chr(65 + numbers[i, 1] % 26)}{numbers[i, 1] % 100_000:05d}X",
                case=f"{numbers[i, 2] % 10**8:08d}",
                n2=numbers[i, 3] % 100,
                n3=numbers[i, 3] % 1000,
                n4=numbers[i, 2] % 10_000,
                url=f"https://t.co/{numbers[i, 0]:x}",
            )
        else:
            body = canned[brand[i]][family[i] - len(ANSWERS)]
        if swap[i] >= 0:
            body = body.replace(*SWAPS[swap[i]])
        opening = OPENERS[opener[i]].format(name=NAMES[name[i]])
        sign = SIGNOFFS[signoff[i]].format(AGENTS[agent[i]])
        texts.append(f"@{handles[i]} {opening} {body}.{ENDINGS[ending[i]]} {sign}".strip())
    return texts


def _free_texts(rng: np.random.Generator, count: int, handles: np.ndarray) -> list[str]:
    """Hand-written replies: 4 to 40 words, drawn with English-like word frequencies."""
    words, weights = _vocabulary(rng)
    lengths = rng.integers(4, 41, count)
    drawn = rng.choice(words, int(lengths.sum()), p=weights).astype(object)
    punctuation = np.array([""] * 16 + [",", ",", ".", "!", "?"], dtype=object)
    drawn = drawn + punctuation[rng.integers(0, len(punctuation), len(drawn))]
    texts = []
    start = 0
    for i in range(count):
        stop = start + int(lengths[i])
        texts.append(f"@{handles[i]} " + " ".join(drawn[start:stop]).capitalize())
        start = stop
    return texts


def measure(name: str, step: Callable[[], Any]) -> tuple[Stage, Any]:
    """Run `step` once; record wall and CPU time and the peak resident memory (RSS).

    No tracemalloc: it slows pandas' many small allocations several-fold. The peak is the
    kernel's high-water mark, reset before the step (Linux), so it covers numpy, arrow and
    Python alike; the step's own memory is the peak minus the RSS before it.
    """
    gc.collect()
    # Hand arrow's cached free memory back, so the RSS before the step is its real floor.
    pa.default_memory_pool().release_unused()
    rss_before = _rss_mb("VmRSS")
    _reset_peak_rss()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = step()
    stage = Stage(
        name=name,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        rss_before_mb=rss_before,
        rss_peak_mb=_rss_mb("VmHWM"),
    )
    return stage, result


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (Linux), so each stage reports its own peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) in MB; getrusage's peak elsewhere."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    """Generate posts, time both steps, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="brand posts to generate")
    parser.add_argument("--brands", type=int, default=12, help="number of brands")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generator")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    posts = synthetic_posts(args.posts, args.brands, args.seed)
    print(
        f"generated {len(posts):,} posts of {posts['brand'].nunique()} brands "
        f"in {time.perf_counter() - started:.1f} s"
    )
    normalise_stage, normalised = measure("normalise_text", lambda: normalise_text(posts["text"]))
    find_stage, template_ids = measure("find_templates", lambda: find_templates(posts))
    top_stage, _ = measure("top_templates", lambda: top_templates(posts, template_ids))

    print(
        f"{'step':<16}{'wall s':>8}{'cpu s':>8}{'RSS before MB':>15}{'peak RSS MB':>13}"
        f"{'step peak MB':>14}"
    )
    for stage in (normalise_stage, find_stage, top_stage):
        print(
            f"{stage.name:<16}{stage.seconds:>8.2f}{stage.cpu_seconds:>8.2f}"
            f"{stage.rss_before_mb:>15.0f}{stage.rss_peak_mb:>13.0f}"
            f"{stage.rss_peak_mb - stage.rss_before_mb:>14.0f}"
        )
    ratio = templated_ratio(posts, template_ids)
    print(
        f"distinct normalised texts: {normalised.nunique():,}; templates: "
        f"{template_ids.nunique():,}; templated ratio per brand: "
        f"{ratio.min():.3f}..{ratio.max():.3f} (overall {template_ids.notna().mean():.3f})"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (CPUs: {os.cpu_count()})")


if __name__ == "__main__":
    main()
