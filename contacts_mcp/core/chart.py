"""A grouped bar chart rendered straight to PNG bytes, with nothing but the standard library.

The reachability resource shows a list as a picture (reachable / opted out / no address per
channel) so a client can display it instead of a table. One small chart does not justify an
imaging dependency (Pillow, matplotlib) with native wheels, so this module carries a tiny bitmap
font, draws rectangles into an RGB buffer and writes the PNG container itself.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib

RGB = tuple[int, int, int]

_BACKGROUND: RGB = (255, 255, 255)
_TEXT: RGB = (33, 33, 33)
_AXIS: RGB = (90, 90, 90)
_GRID: RGB = (228, 228, 228)

# Large enough for a crisp chart on a high-density screen, small enough that a careless caller
# cannot make the server allocate hundreds of megabytes for one picture.
MAX_SIDE = 2048

# 5x7 glyphs (plus a descender row for g, j, p, q, y and the comma). Each character of a code is
# one pixel row in base 32, its five bits read left to right; a missing eighth row is blank.
# fmt: off
_GLYPH_CODES = {
    "0": "ehjlphe", "1": "4c4444e", "2": "eh1248v", "3": "v2421he", "4": "26aiv22", "5": "vgu11he",
    "6": "68guhhe", "7": "v124888", "8": "ehhehhe", "9": "ehhf12c", "A": "ehhvhhh", "B": "uhhuhhu",
    "C": "ehggghe", "D": "sihhhis", "E": "vgguggv", "F": "vgguggg", "G": "ehgnhhf", "H": "hhhvhhh",
    "I": "e44444e", "J": "72222ic", "K": "hikokih", "L": "ggggggv", "M": "hrllhhh", "N": "hhpljhh",
    "O": "ehhhhhe", "P": "uhhuggg", "Q": "ehhhlid", "R": "uhhukih", "S": "fgge11u", "T": "v444444",
    "U": "hhhhhhe", "V": "hhhhha4", "W": "hhhllla", "X": "hha4ahh", "Y": "hhha444", "Z": "v1248gv",
    "a": "00e1fhf", "b": "ggmphhu", "c": "00egghe", "d": "11djhhf", "e": "00ehvge", "f": "698s888",
    "g": "00fhhf1e", "h": "ggmphhh", "i": "40c444e", "j": "206222ic", "k": "ggikoki",
    "l": "c44444e", "m": "00qllhh", "n": "00mphhh", "o": "00ehhhe", "p": "00uhhugg",
    "q": "00fhhf11", "r": "00mpggg", "s": "00ege1u", "t": "88s8896", "u": "00hhhjd", "v": "00hhha4",
    "w": "00hhlla", "x": "00ha4ah", "y": "00hhhf1e", "z": "00v248v", " ": "0000000", ".": "00000cc",
    ",": "00000c48", ":": "0cc0cc0", ";": "0cc0c48", "-": "000v000", "%": "op248j3", "(": "2488842",
    ")": "8422248", "/": "01248g0", "?": "eh12404", "'": "4480000", '"': "aaa0000", "!": "4444404",
    "+": "044v440", "_": "000000v", "&": "cik8lid", "#": "aavavaa", "=": "00v0v00", "*": "04lel40",
    "…": "000000l",
}
# fmt: on

_GLYPH_W, _GLYPH_H, _ADVANCE = 5, 7, 6  # _ADVANCE leaves one blank column between characters
_ELLIPSIS = "…"


def _glyph_pixels(code: str) -> tuple[tuple[int, int], ...]:
    return tuple(
        (x, y)
        for y, row in enumerate(int(c, 32) for c in code)
        for x in range(_GLYPH_W)
        if row & (1 << (_GLYPH_W - 1 - x))
    )


# Lit pixels are listed once per glyph so drawing text does no bit twiddling per call.
_GLYPHS = {ch: _glyph_pixels(code) for ch, code in _GLYPH_CODES.items()}


def _font_text(text: str) -> str:
    """Map text onto the font: accents fold onto the base letter (names are full of them), the rest is '?'."""
    out = []
    for ch in text:
        if ch in _GLYPHS:
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if c in _GLYPHS and not unicodedata.combining(c)
            )
            out.append(base or "?")
    return "".join(out)


def _text_width(text: str, scale: int = 1) -> int:
    return max(0, len(text) * _ADVANCE - 1) * scale


def _fit(text: str, max_px: int, scale: int = 1) -> str:
    """Truncate with an ellipsis so a label never runs into its neighbour or off the image."""
    max_chars = (max_px + scale) // (_ADVANCE * scale)
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return ""
    return text[: max_chars - 1].rstrip() + _ELLIPSIS


def _compact(n: int) -> str:
    units = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k"))
    for i, (unit, suffix) in enumerate(units):
        if n >= unit:
            value = n / unit
            # Three significant digits at most (1.2M, 12.3M, 123M): enough to compare bars.
            text = f"{value:.1f}" if value < 99.95 else f"{value:.0f}"
            # 999,999 rounds to "1000k"; the next unit up says it in fewer characters.
            if text == "1000" and i > 0:
                return f"1{units[i - 1][1]}"
            return text.removesuffix(".0") + suffix
    return str(n)


def _format_count(n: int, max_px: int | None = None) -> str:
    full = f"{n:,}"
    if max_px is None or _text_width(full) <= max_px:
        return full
    return _compact(n)


def _nice_ticks(max_value: int, max_intervals: int) -> tuple[int, int]:
    """(step, top) with step 1, 2 or 5 x 10^k and top the first multiple of step >= max_value.

    Integer arithmetic throughout, so counts in the billions get exact ticks, and an all-zero chart
    still gets a non-zero top (no division by zero when scaling bars).
    """
    max_intervals = max(1, max_intervals)
    raw = max(1, -(-max_value // max_intervals))
    magnitude = 10 ** (len(str(raw)) - 1)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = max(step, -(-max_value // step) * step)
    return step, top


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.buf = bytearray(bytes(_BACKGROUND) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        """Fill [x0, x1) x [y0, y1), clipped to the image."""
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1 or y0 >= y1:
            return
        run = bytes(color) * (x1 - x0)
        stride = self.width * 3
        start = (y0 * self.width + x0) * 3
        # Slice assignment per row keeps the pixel loop in C.
        for off in range(start, start + (y1 - y0) * stride, stride):
            self.buf[off : off + len(run)] = run

    def text(self, x: int, y: int, text: str, color: RGB, scale: int = 1) -> None:
        for i, ch in enumerate(text):
            gx = x + i * _ADVANCE * scale
            for dx, dy in _GLYPHS.get(ch, _GLYPHS["?"]):
                px, py = gx + dx * scale, y + dy * scale
                self.rect(px, py, px + scale, py + scale, color)

    def png(self) -> bytes:
        stride = self.width * 3
        view = memoryview(self.buf)
        # Filter type 0 (None) on every row: a chart is mostly flat colour that zlib squeezes well
        # unfiltered, and skipping the per-row filter choice keeps rendering fast.
        raw = b"".join(b"\x00" + view[off : off + stride] for off in range(0, len(self.buf), stride))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bar_chart_png(
    title: str,
    groups: list[tuple[str, list[int]]],
    series: list[tuple[str, tuple[int, int, int]]],
    width: int = 640,
    height: int = 360,
) -> bytes:
    """Render a grouped bar chart: one cluster per group, one bar per series, as PNG bytes.

    Each group's list holds one non-negative count per series, in series order. Labels too long
    for their slot are truncated with an ellipsis; characters outside the built-in font are drawn
    as '?'. A value label that cannot fit above its bar even in compact form (1.2M) is left out
    rather than overlapping its neighbours.
    """
    for name, values in groups:
        if len(values) != len(series):
            raise ValueError(f"group {name!r} has {len(values)} values for {len(series)} series")
        if any(v < 0 for v in values):
            raise ValueError(f"group {name!r} has a negative value")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"chart size must be within 1..{MAX_SIDE} pixels a side")

    pad = 10
    title_y = pad
    legend_y = title_y + (_GLYPH_H + 1) * 2 + 6
    # Headroom for the value label of a bar that reaches the top of the axis.
    plot_top = legend_y + _GLYPH_H + 1 + 6 + _GLYPH_H + 4
    plot_bottom = height - pad - (_GLYPH_H + 1) - 5
    plot_h = plot_bottom - plot_top
    if plot_h < 20:
        raise ValueError("chart height too small to draw")

    max_value = max((v for _, values in groups for v in values), default=0)
    # Keep tick labels at least ~30 px apart so they never touch.
    step, top = _nice_ticks(max_value, min(5, plot_h // 30))
    ticks = range(0, top + 1, step)
    # One format for the whole axis: "800,000" next to "1.2M" would read as different units.
    tick_labels = [_compact(t) if len(f"{top:,}") > 7 else f"{t:,}" for t in ticks]
    axis_x = pad + max(_text_width(s) for s in tick_labels) + 6
    plot_left, plot_right = axis_x + 1, width - pad
    plot_w = plot_right - plot_left
    if plot_w < 20:
        raise ValueError("chart width too small to draw")

    canvas = _Canvas(width, height)

    def y_of(value: int) -> int:
        # Exact integer rounding: float scaling would drift for counts in the billions.
        return plot_bottom - (value * plot_h + top // 2) // top

    title_text = _fit(_font_text(title), width - 2 * pad, scale=2)
    canvas.text((width - _text_width(title_text, 2)) // 2, title_y, title_text, _TEXT, scale=2)

    _draw_legend(canvas, series, legend_y, pad)

    for t, label in zip(ticks, tick_labels, strict=True):
        y = y_of(t)
        if t:
            canvas.rect(plot_left, y, plot_right, y + 1, _GRID)
        canvas.rect(axis_x - 3, y, axis_x, y + 1, _AXIS)
        canvas.text(axis_x - 4 - _text_width(label), y - _GLYPH_H // 2, label, _TEXT)

    slot = plot_w / max(1, len(groups))
    cluster = slot * 0.8
    pitch = cluster / max(1, len(series))
    gap = 2 if pitch >= 6 else 0
    # Labels are centred on bars one pitch apart; this keeps two pixels between neighbours.
    label_room = int(pitch) - 2
    for gi, (name, values) in enumerate(groups):
        cluster_left = plot_left + gi * slot + (slot - cluster) / 2
        for si, value in enumerate(values):
            x0 = round(cluster_left + si * pitch)
            x1 = max(x0 + 1, round(cluster_left + (si + 1) * pitch) - gap)
            y = y_of(value)
            if value > 0:
                # A non-zero count must stay visible however small it is next to the largest.
                y = min(y, plot_bottom - 1)
                canvas.rect(x0, y, x1, plot_bottom, series[si][1])
            label = _format_count(value, label_room)
            if _text_width(label) <= label_room:
                canvas.text((x0 + x1 - _text_width(label)) // 2, y - 3 - _GLYPH_H, label, _TEXT)
        label = _fit(_font_text(name), int(slot) - 4)
        cx = round(plot_left + gi * slot + slot / 2)
        canvas.text(cx - _text_width(label) // 2, plot_bottom + 5, label, _TEXT)

    canvas.rect(axis_x, plot_top, axis_x + 1, plot_bottom + 1, _AXIS)
    canvas.rect(axis_x, plot_bottom, plot_right, plot_bottom + 1, _AXIS)
    return canvas.png()


def _draw_legend(canvas: _Canvas, series: list[tuple[str, RGB]], y: int, pad: int) -> None:
    if not series:
        return
    swatch, swatch_gap, entry_gap = _GLYPH_H, 4, 12
    names = [_font_text(name) for name, _ in series]
    fixed = len(series) * (swatch + swatch_gap) + (len(series) - 1) * entry_gap

    def total(ns: list[str]) -> int:
        return fixed + sum(_text_width(n) for n in ns)

    available = canvas.width - 2 * pad
    if total(names) > available:
        # Share the room equally rather than let one long name push the others off the image.
        per_name = max(0, (available - fixed) // len(series))
        names = [_fit(n, per_name) for n in names]
    x = max(pad, (canvas.width - total(names)) // 2)
    for name, (_, color) in zip(names, series, strict=True):
        canvas.rect(x, y, x + swatch, y + swatch, color)
        x += swatch + swatch_gap
        canvas.text(x, y, name, _TEXT)
        x += _text_width(name) + entry_gap
