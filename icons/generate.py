#!/usr/bin/env python3
"""Draws Advicly's app icon: a calm monogram "A" on a rounded square, written as RGBA PNGs.

Uses only the standard library (zlib + struct), so it runs anywhere without ImageMagick or Pillow.
Run it from any folder: `python3 icons/generate.py`; it rewrites the PNGs next to this script.
"""

import math
import os
import struct
import zlib

# Deep slate-teal background and a warm off-white letter: quiet, readable at 32 px.
BACKGROUND = (38, 84, 96)
LETTER = (246, 243, 236)
SUPERSAMPLES = 4  # 4x4 samples per pixel give smooth edges without a rasterizer library.

# The icon files Tauri's bundle configuration references (name, edge length in pixels).
OUTPUTS = [
    ("32x32.png", 32),
    ("128x128.png", 128),
    ("128x128@2x.png", 256),
    ("icon.png", 512),
]


def inside_rounded_square(x, y):
    """True when the unit-square point (x, y) lies inside the rounded background square."""
    margin, radius = 0.04, 0.2
    low, high = margin + radius, 1.0 - margin - radius
    nearest_x = min(max(x, low), high)
    nearest_y = min(max(y, low), high)
    return (x - nearest_x) ** 2 + (y - nearest_y) ** 2 <= radius * radius


def distance_to_segment(px, py, ax, ay, bx, by):
    """Distance from point p to the segment a-b."""
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = min(max(t, 0.0), 1.0)
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


# The "A": two legs meeting at the apex and a crossbar, as thick strokes in unit coordinates.
APEX = (0.5, 0.22)
LEFT_FOOT = (0.27, 0.78)
RIGHT_FOOT = (0.73, 0.78)
STROKE_HALF_WIDTH = 0.055


def crossbar():
    """The crossbar spans the legs at 62% of the letter's height."""
    t = 0.62
    left = (APEX[0] + t * (LEFT_FOOT[0] - APEX[0]), APEX[1] + t * (LEFT_FOOT[1] - APEX[1]))
    right = (APEX[0] + t * (RIGHT_FOOT[0] - APEX[0]), APEX[1] + t * (RIGHT_FOOT[1] - APEX[1]))
    return left, right


CROSSBAR = crossbar()
SEGMENTS = [
    (APEX, LEFT_FOOT),
    (APEX, RIGHT_FOOT),
    CROSSBAR,
]


def inside_letter(x, y):
    """True when (x, y) lies on one of the letter's strokes (feet cut flat at the baseline)."""
    if y > LEFT_FOOT[1]:
        return False
    return any(
        distance_to_segment(x, y, a[0], a[1], b[0], b[1]) <= STROKE_HALF_WIDTH for a, b in SEGMENTS
    )


def render(size):
    """Returns the raw RGBA scanlines (with PNG filter bytes) of an icon of the given size."""
    rows = bytearray()
    samples = SUPERSAMPLES * SUPERSAMPLES
    for row in range(size):
        rows.append(0)  # Filter type "None" for this scanline.
        for column in range(size):
            square_hits = letter_hits = 0
            for sub_y in range(SUPERSAMPLES):
                for sub_x in range(SUPERSAMPLES):
                    x = (column + (sub_x + 0.5) / SUPERSAMPLES) / size
                    y = (row + (sub_y + 0.5) / SUPERSAMPLES) / size
                    if inside_rounded_square(x, y):
                        square_hits += 1
                        if inside_letter(x, y):
                            letter_hits += 1
            if square_hits == 0:
                rows.extend((0, 0, 0, 0))
                continue
            letter_share = letter_hits / square_hits
            color = [
                round(BACKGROUND[i] * (1 - letter_share) + LETTER[i] * letter_share) for i in range(3)
            ]
            rows.extend((*color, round(255 * square_hits / samples)))
    return bytes(rows)


def png_chunk(kind, data):
    """One PNG chunk: length, type, data, CRC over type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path, size):
    """Writes an 8-bit RGBA PNG (colour type 6), which Tauri requires for window icons."""
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    body = png_chunk(b"IHDR", header)
    body += png_chunk(b"IDAT", zlib.compress(render(size), 9))
    body += png_chunk(b"IEND", b"")
    with open(path, "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n" + body)


def main():
    folder = os.path.dirname(os.path.abspath(__file__))
    for name, size in OUTPUTS:
        write_png(os.path.join(folder, name), size)
        print(f"wrote {name} ({size}x{size})")


if __name__ == "__main__":
    main()
