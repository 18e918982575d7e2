"""The PNG bar chart, checked by decoding its output here rather than trusting an imaging library."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

import pytest

from contacts_mcp.core.chart import (
    _compact,
    _fit,
    _format_count,
    _nice_ticks,
    bar_chart_png,
)

GREEN, RED, GREY = (46, 160, 67), (214, 39, 40), (150, 150, 150)
SERIES = [("reachable", GREEN), ("opted out", RED), ("no address", GREY)]
CHANNELS = ["SMS", "Email", "Voice", "Voicemail"]


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of a PNG as the chart writes it: 8-bit RGB, filter 0 only."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        chunks.append((kind, data))
        pos += 12 + length
    assert pos == len(png)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour_type, compression, filter_method, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    assert (depth, colour_type, compression, filter_method, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    stride = width * 3 + 1
    assert len(raw) == stride * height
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0, f"row {y} uses filter {line[0]}"
        rows.append(line[1:])
    return width, height, rows


def colours(rows: list[bytes]) -> Counter[tuple[int, int, int]]:
    return Counter(px for row in rows for px in zip(row[0::3], row[1::3], row[2::3], strict=True))


def tallest_run(rows: list[bytes], colour: tuple[int, int, int], x_from: int, x_to: int) -> int:
    """Longest vertical run of `colour` in the columns [x_from, x_to): the height of a bar there."""
    target = bytes(colour)
    best = 0
    for x in range(x_from, x_to):
        run = 0
        for row in rows:
            run = run + 1 if row[3 * x : 3 * x + 3] == target else 0
            best = max(best, run)
    return best


def chart(values: list[list[int]], title: str = "Reachability", **size: int) -> bytes:
    return bar_chart_png(title, list(zip(CHANNELS, values, strict=True)), SERIES, **size)


def test_png_is_well_formed_with_requested_size() -> None:
    assert decode(chart([[5, 1, 2]] * 4))[:2] == (640, 360)
    assert decode(chart([[5, 1, 2]] * 4, width=300, height=200))[:2] == (300, 200)


def test_series_colours_appear_only_where_values_are_positive() -> None:
    # The legend shows every series' colour, so an all-zero chart is the baseline: any colour
    # beyond it must come from bars.
    legend_only = colours(decode(chart([[0, 0, 0]] * 4))[2])
    assert all(legend_only[c] > 0 for c in (GREEN, RED, GREY))

    counts = colours(decode(chart([[120, 0, 30], [80, 0, 0], [0, 0, 5], [60, 0, 0]]))[2])
    assert counts[GREEN] > legend_only[GREEN]
    assert counts[GREY] > legend_only[GREY]
    assert counts[RED] == legend_only[RED]


def test_tiny_value_next_to_huge_one_still_shows() -> None:
    legend_only = colours(decode(chart([[0, 0, 0]] * 4))[2])
    counts = colours(decode(chart([[10_000_000, 1, 0]] + [[0, 0, 0]] * 3))[2])
    assert counts[RED] > legend_only[RED]


def test_taller_value_draws_a_taller_bar() -> None:
    groups = [("Low", [10, 0, 0]), ("High", [40, 0, 0])]
    width, _, rows = decode(bar_chart_png("Heights", groups, SERIES))
    low = tallest_run(rows, GREEN, 0, width // 2)
    high = tallest_run(rows, GREEN, width // 2, width)
    assert high > low > 0
    assert 3.5 < high / low < 4.5


def test_all_zero_values_render() -> None:
    width, height, rows = decode(chart([[0, 0, 0]] * 4))
    assert (width, height) == (640, 360)
    assert len(colours(rows)) > 1  # axes and text, not a blank image


def test_values_in_the_millions_render() -> None:
    png = chart([[12_345_678, 230_000, 1_500], [9_800_000, 1_200_000, 4_000_000], [0, 0, 0], [7, 45, 999_999]])
    assert decode(png)[:2] == (640, 360)
    assert decode(chart([[10**15, 10**12, 1]] * 4))[:2] == (640, 360)


def test_non_ascii_text_renders_folded_or_as_question_marks() -> None:
    assert decode(chart([[3, 1, 2]] * 4, title="Liste été 日本 — ✓"))[:2] == (640, 360)
    # Accents fold onto the base letter; characters with no glyph at all are drawn as '?'.
    assert chart([[3, 1, 2]] * 4, title="Été") == chart([[3, 1, 2]] * 4, title="Ete")
    assert chart([[3, 1, 2]] * 4, title="日本") == chart([[3, 1, 2]] * 4, title="??")


def test_long_labels_are_truncated_to_their_slot() -> None:
    def render(label: str) -> bytes:
        return bar_chart_png(label, [(label, [1, 2, 3])] * 4, [(label, c) for _, c in SERIES])

    assert decode(render("x" * 300))[:2] == (640, 360)
    assert render("x" * 300) == render("x" * 1000)


def test_rendering_is_deterministic_and_handles_no_groups() -> None:
    assert chart([[5, 1, 2]] * 4) == chart([[5, 1, 2]] * 4)
    assert decode(bar_chart_png("Empty", [], SERIES))[:2] == (640, 360)


@pytest.mark.parametrize(
    ("groups", "size"),
    [
        ([("SMS", [1, 2])], {}),  # one value short of the three series
        ([("SMS", [1, -2, 3])], {}),
        ([("SMS", [1, 2, 3])], {"width": 10_000}),
        ([("SMS", [1, 2, 3])], {"height": 40}),
    ],
)
def test_invalid_input_is_refused(groups: list[tuple[str, list[int]]], size: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        bar_chart_png("Bad", groups, SERIES, **size)


@pytest.mark.parametrize(
    ("max_value", "intervals", "expected"),
    [(0, 5, (1, 1)), (3, 5, (1, 3)), (12_345, 5, (5_000, 15_000)), (40, 5, (10, 40)), (10**9 + 1, 5, (500_000_000, 1_500_000_000))],
)
def test_ticks_are_nice_round_numbers(max_value: int, intervals: int, expected: tuple[int, int]) -> None:
    assert _nice_ticks(max_value, intervals) == expected


def test_value_labels_use_separators_or_compact_form() -> None:
    assert _format_count(12_345) == "12,345"
    assert _format_count(12_345, max_px=36) == "12,345"
    assert _format_count(1_234_567, max_px=36) == "1.2M"
    assert [_compact(n) for n in (999, 1_000, 12_345_678, 999_999, 5 * 10**9)] == ["999", "1k", "12.3M", "1M", "5B"]


def test_fit_truncates_with_an_ellipsis() -> None:
    assert _fit("Voicemail", 100) == "Voicemail"
    assert _fit("Voicemail", 29) == "Voic…"
    assert _fit("Voicemail", 3) == ""
