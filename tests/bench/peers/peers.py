"""Render one kofu certificate with two peer tools and time them.

    python peers.py DOCUMENT.json --seconds S [--out-dir DIR] [--only typst|weasyprint]

DOCUMENT.json holds {"document": <kofu Document as serde JSON>, "footer":
"... {n} / {total} ...", "fonts": {"mincho": PATH, "gothic": PATH}}. Each peer
gets the same text, fonts and a layout close to kofu's renderer
(host/render/src/layout/): A4, 20 mm margins, ruled grids, the certification
and official seal kept together at the end, and a footer on every page with
its baseline 12 mm above the bottom edge. The markup is generated once; only
rendering to PDF bytes is timed, in a loop on one core for S seconds.

Prints one JSON line on stdout:
    {"typst": {"version", "docs", "seconds", "docs_per_s", "p50_ms", "p99_ms",
               "bytes", "pages"}, "weasyprint": {...}}
Everything else goes to stderr.
"""

import argparse
import html
import itertools
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

# typst, weasyprint and fontTools are imported where they are used, so a run
# of one peer never loads the other's native libraries.

# Pin the process to one core before Typst loads: its rayon pool sizes itself
# from the CPUs it may use, and kofu's renderer is measured on one core. It is
# the lowest-numbered CPU allowed, so `taskset -c N` picks which.
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

MM = 72 / 25.4
SIZES = {"small": 8.0, "normal": 10.5, "large": 13.0, "title": 20.0}
RED = (0.84, 0.11, 0.09)

# Geometry of host/render/src/layout, in points unless named otherwise.
LEADING = 1.6
TITLE_LEADING = 1.4
TITLE_GAP = 8 * MM
CELL_SIZE = 10.5
CELL_LEADING = 1.45
CELL_PAD_X = 2 * MM
CELL_PAD_Y = 1.2 * MM
BORDER = 0.6
KEY_SHARE = 0.28
KEY_GRAY = 0.93
HEADER_GRAY = 0.87
BLOCK_GAP = 3 * MM
TEXT_WIDTH = 170 * MM
IMPRESSION_DIAMETER = 22 * MM
IMPRESSION_STROKE = 1.4
OFFICIAL_SIDE = 18 * MM
OFFICIAL_STROKE = 1.8
SEAL_OVERLAP = 7 * MM
FOOTER_BASELINE = 12 * MM


def fail(message):
    print(f"peers: error: {message}", file=sys.stderr)
    sys.exit(1)


def load_job(path):
    try:
        job = json.loads(Path(path).read_text(encoding="utf-8"))
        document, footer, fonts = job["document"], job["footer"], job["fonts"]
        fonts = {face: Path(fonts[face]) for face in ("mincho", "gothic")}
    except (OSError, ValueError, KeyError, TypeError) as err:
        fail(f"cannot read {path}: {err!r}; it needs document, footer and fonts.mincho/gothic")
    for face, font in fonts.items():
        if not font.is_absolute() or not font.is_file():
            fail(f"fonts.{face} is {font}; give the absolute path of an existing font file")
    return document, footer, fonts


def font_metrics(path):
    """Ascender and descender (positive) in em, read as kofu reads them, from
    hhea: the line boxes below centre the em box in the line as kofu does."""
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True)
    em = font["head"].unitsPerEm
    return font["hhea"].ascent / em, -font["hhea"].descent / em


def footer_parts(footer):
    """The footer template split into literal text and the placeholders
    "{n}" and "{total}", each given as ("n",) or ("total",)."""
    parts = []
    for piece in re.split(r"(\{n\}|\{total\})", footer):
        if piece in ("{n}", "{total}"):
            parts.append((piece[1:-1],))
        elif piece:
            parts.append(piece)
    return parts


def seal_grid(count, official):
    """Columns and rows of a seal, as host/render/src/seal.rs lays them out."""
    if official:
        columns = next(c for c in range(1, max(count, 1) + 1) if c * c >= count)
    else:
        columns = 1 if count <= 3 else 2 if count <= 6 else 3
    return columns, max(math.ceil(count / columns), 1)


def seal_cells(text, inner, official):
    """The seal's characters as columns, first column first (it is drawn on
    the right), with the cell size, font size and vertical stretch."""
    chars = list(text)
    columns, rows = seal_grid(len(chars), official)
    cell_w, cell_h = inner / columns, inner / rows
    size = min(min(cell_w, cell_h) * 0.92, inner * 0.6)
    stretch = min(max(cell_h * 0.92 / size, 1.0), 2.0)
    chunks = [chars[i : i + rows] for i in range(0, len(chars), rows)]
    return chunks, cell_w, cell_h, size, stretch


def impression_inner():
    return (IMPRESSION_DIAMETER / 2 - 2.5) * math.sqrt(2)


def official_inner():
    return OFFICIAL_SIDE - 4.0


def closing_geometry():
    """Vertical gaps of the closing, as host/render/src/layout/closing.rs."""
    large_line = SIZES["large"] * LEADING
    seal_below = max(OFFICIAL_SIDE - large_line, 0) / 2
    # The name line ends this far left of the right margin, under the seal.
    name_inset = OFFICIAL_SIDE - SEAL_OVERLAP
    return large_line, seal_below, name_inset


# --- Typst -----------------------------------------------------------------


def typst_str(text):
    """A Typst string literal. All document text goes through string
    literals, never markup, so no markup character (#, *, _, $, <, @, [...)
    can take effect; a "\\n" in a literal prints as a line break, as in kofu."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def typst_array(items):
    """A Typst array literal; the trailing comma keeps one item an array."""
    return "(" + "".join(f"{item}, " for item in items) + ")"


def pt(value):
    return f"{value:.3f}pt"


def typst_source(document, footer, families, metrics):
    face_fonts = ", ".join(f"{face}: {typst_str(family)}" for face, family in families.items())
    face_metrics = ", ".join(f"{face}: ({asc:.4f}, {desc:.4f})" for face, (asc, desc) in metrics.items())
    footer_expr = " + ".join(
        f"str({part[0]})" if isinstance(part, tuple) else typst_str(part) for part in footer_parts(footer)
    )
    red = "rgb({:.0f}, {:.0f}, {:.0f})".format(*(c * 255 for c in RED))
    key_width = round(TEXT_WIDTH * KEY_SHARE)
    large_line, seal_below, name_inset = closing_geometry()

    def seal(text, inner, official):
        chunks, cell_w, cell_h, size, stretch = seal_cells(text, inner, official)
        columns = typst_array(typst_array(map(typst_str, chunk)) for chunk in chunks)
        return f"seal-grid({columns}, {pt(inner)}, {pt(cell_w)}, {pt(cell_h)}, {pt(size)}, {stretch:.4f})"

    # Helpers first; the blocks below are calls to them with string literals.
    out = [
        f"""#let fonts = ({face_fonts})
#let metrics = ({face_metrics})
#let red = {red}

// Line boxes of `lead` times the size with the em box centred, so that a
// line's pitch is exactly kofu's (leading between lines is then zero).
#let run(face, size, lead, body, ..rest) = {{
  let (asc, desc) = metrics.at(face)
  let half = (lead - asc - desc) / 2
  text(font: fonts.at(face), size: size, top-edge: (asc + half) * 1em,
    bottom-edge: -(desc + half) * 1em, ..rest, body)
}}
#let flow(face, size, lead, alignment, body) = block(width: 100%, align(alignment, run(face, size, lead, body)))
#let cell(face, body) = run(face, {pt(CELL_SIZE)}, {CELL_LEADING}, body)

// Seal characters in columns from the right, top to bottom; a short column
// is centred.
#let seal-grid(columns, inner, cell-w, cell-h, size, stretch) = stack(dir: rtl,
  ..columns.map(chars => box(width: cell-w, height: inner, align(horizon, stack(dir: ttb,
    ..chars.map(c => box(width: cell-w, height: cell-h, align(center + horizon,
      scale(y: stretch * 100%, text(font: fonts.mincho, size: size, fill: red,
        top-edge: "ascender", bottom-edge: "descender", c))))))))))

#let key-values(..rows) = {{
  // One group stays on one page, as a person does on a household form.
  block(breakable: false, grid(columns: ({key_width}pt, 1fr), stroke: {BORDER}pt,
    inset: (x: {pt(CELL_PAD_X)}, y: {pt(CELL_PAD_Y)}),
    fill: (x, y) => if x == 0 {{ luma({KEY_GRAY * 100:.0f}%) }},
    ..rows.pos().map(((key, value)) => (cell("gothic", key), cell("mincho", value))).flatten()))
  v({pt(BLOCK_GAP)})
}}

#let kofu-table(weights, aligns, headers, rows) = {{
  table(columns: weights.map(w => w * 1fr), stroke: {BORDER}pt,
    inset: (x: {pt(CELL_PAD_X)}, y: {pt(CELL_PAD_Y)}), align: aligns,
    table.header(..headers.map(h => table.cell(fill: luma({HEADER_GRAY * 100:.0f}%), align: center,
      cell("gothic", h)))),
    ..rows.flatten().map(c => cell("mincho", c)))
  v({pt(BLOCK_GAP)})
}}

#set document(title: {typst_str(document["title"])})
#set page(paper: "a4", margin: 20mm, foreground: context {{
  let n = counter(page).get().first()
  let total = counter(page).final().first()
  place(bottom + left, dx: 20mm, dy: -{pt(FOOTER_BASELINE)}, box(width: {pt(TEXT_WIDTH)},
    align(center, text(font: fonts.gothic, size: {pt(SIZES["small"])}, bottom-edge: "baseline",
      {footer_expr}))))
}})
#set text(lang: "ja", cjk-latin-spacing: none)
#set par(leading: 0pt, spacing: 0pt)
#set block(spacing: 0pt)
// A grid row moves whole to the next page, as in kofu.
#set table.cell(breakable: false)

#flow("gothic", {pt(SIZES["title"])}, {TITLE_LEADING}, center, {typst_str(document["title"])})
#v({pt(TITLE_GAP)})
"""
    ]

    for block in document["blocks"]:
        if block == "rule":
            out.append("#block(breakable: false, inset: (y: 2mm), line(length: 100%, stroke: 0.5pt))\n")
        elif block == "page-break":
            out.append("#pagebreak(weak: true)\n")
        elif "heading" in block:
            text = block["heading"]
            size = SIZES[text["size"]]
            out.append(
                f"#v({pt(0.6 * size)}, weak: true)\n"
                f"#block(sticky: true, flow({typst_str(text['face'])}, {pt(size)}, {LEADING}, {text['align']}, "
                f"{typst_str(text['content'])}))\n#v({pt(0.3 * size)})\n"
            )
        elif "paragraph" in block:
            text = block["paragraph"]
            size = SIZES[text["size"]]
            out.append(
                f"#flow({typst_str(text['face'])}, {pt(size)}, {LEADING}, {text['align']}, "
                f"{typst_str(text['content'])})\n#v({pt(0.5 * size)})\n"
            )
        elif "key-values" in block:
            rows = ", ".join(f"({typst_str(r['key'])}, {typst_str(r['value'])})" for r in block["key-values"])
            out.append(f"#key-values({rows})\n")
        elif "table" in block:
            table = block["table"]
            weights = typst_array(max(c["weight"], 1) for c in table["columns"])
            aligns = typst_array(c["align"] for c in table["columns"])
            headers = typst_array(typst_str(c["header"]) for c in table["columns"])
            rows = typst_array(typst_array(map(typst_str, row)) for row in table["rows"])
            out.append(f"#kofu-table({weights}, {aligns}, {headers}, {rows})\n")
        elif "spacing" in block:
            out.append(f"#v({block['spacing']}mm)\n")
        elif "seal-impression" in block:
            radius = IMPRESSION_DIAMETER / 2
            grid = seal(block["seal-impression"], impression_inner(), official=False)
            out.append(
                f"#block(breakable: false, inset: (top: 2mm, bottom: {pt(BLOCK_GAP)}), width: 100%, align(center,\n"
                f"  box(width: {pt(2 * radius)}, height: {pt(2 * radius)}, {{\n"
                f"    place(center + horizon, circle(radius: {pt(radius)}, stroke: {IMPRESSION_STROKE}pt + red))\n"
                f"    place(center + horizon, circle(radius: {pt(radius - 1.6)}, stroke: 0.5pt + red))\n"
                f"    place(center + horizon, {grid})\n"
                f"  }})))\n"
            )
        else:
            fail(f"unknown block {json.dumps(block, ensure_ascii=False)[:80]}")

    signature = document["signature"]
    name = signature["title"] + "\u3000" + signature["name"]
    official = seal(signature["seal"], official_inner(), official=True)
    # Certification, date, certifier and official seal stay together.
    out.append(
        f"""#v(5mm, weak: true)
#block(breakable: false, {{
  flow("mincho", {pt(SIZES["normal"])}, {LEADING}, left, {typst_str(document["certification"])})
  v(6mm)
  pad(right: {pt(name_inset)},
    flow("mincho", {pt(SIZES["normal"])}, {LEADING}, right, {typst_str(signature["date_line"])}))
  v({pt(seal_below + 1.5 * MM)})
  block(width: 100%, {{
    pad(right: {pt(name_inset)}, flow("mincho", {pt(SIZES["large"])}, {LEADING}, right, {typst_str(name)}))
    place(right + horizon, box(width: {pt(OFFICIAL_SIDE)}, height: {pt(OFFICIAL_SIDE)},
      stroke: {OFFICIAL_STROKE}pt + red, align(center + horizon, {official})))
  }})
  v({pt(seal_below)})
}})
"""
    )
    return "".join(out)


def typst_peer(document, footer, fonts, workdir):
    """Returns (version, render, pages): render() compiles to PDF bytes."""
    from importlib.metadata import version

    import typst

    # Only the job's fonts: ignore the system's and Typst's bundled ones, so
    # a missing glyph cannot be drawn from a font the other renderers lack.
    font_dirs = sorted({str(path.parent) for path in fonts.values()})
    font_set = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=font_dirs)
    by_path = {Path(info.path).resolve(): info.family for info in font_set.fonts() if info.path}
    families = {}
    for face, path in fonts.items():
        if path.resolve() not in by_path:
            fail(f"Typst found no font in {path}")
        families[face] = by_path[path.resolve()]
    metrics = {face: font_metrics(path) for face, path in fonts.items()}

    # The binding's Compiler reads its input from a file; it is written once.
    source = workdir / "document.typ"
    source.write_text(typst_source(document, footer, families, metrics), encoding="utf-8")
    compiler = typst.Compiler(str(source), root=str(workdir), font_paths=font_set, ignore_system_fonts=True)

    # Tags off: kofu writes untagged PDF. A fixed timestamp, as kofu's output
    # is deterministic and it reads no clock.
    options = {"format": "pdf", "pdf_tags": False, "timestamp": 0}
    try:
        pdf, warnings = compiler.compile_with_warnings(**options)
        svg = compiler.compile(format="svg")
    except typst.TypstError as err:
        fail(f"Typst failed on {source}: {err.message}\n{err.diagnostic}")
    for warning in warnings:
        print(f"peers: typst warning: {warning.message}", file=sys.stderr)
    # SVG export gives one page as bytes and several as a list.
    pages = len(svg) if isinstance(svg, list) else 1

    # Typst memoizes across compiles: the same source with the same inputs
    # again is mostly cache hits, several times faster than a new document.
    # Every real certificate differs, and kofu's renderer keeps nothing
    # between documents, so each compile gets sys.inputs of its own. The
    # markup never reads them, so the PDF is the same, but no cached
    # evaluation or layout applies.
    serials = itertools.count()

    def render():
        return compiler.compile(sys_inputs={"serial": str(next(serials))}, **options)

    return version("typst"), render, pages


# --- WeasyPrint ------------------------------------------------------------


def css_str(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return f'"{escaped}"'


def css_gray(level):
    percent = f"{level * 100:.0f}%"
    return f"rgb({percent} {percent} {percent})"


def weasyprint_css(footer, fonts, metrics):
    footer_content = " ".join(
        f"counter({'page' if part[0] == 'n' else 'pages'})" if isinstance(part, tuple) else css_str(part)
        for part in footer_parts(footer)
    )
    # The footer's line box is its em box (line-height 1); its bottom sits
    # one descender below the baseline.
    footer_bottom = FOOTER_BASELINE - metrics["gothic"][1] * SIZES["small"]
    red = "rgb({:.1f}% {:.1f}% {:.1f}%)".format(*(c * 100 for c in RED))
    large_line, seal_below, name_inset = closing_geometry()
    # kofu's inner ring: 1.6 pt inside the outer one, 0.5 pt wide.
    ring_gap = 1.6 + 0.25 - IMPRESSION_STROKE / 2
    faces = "\n".join(
        f'@font-face {{ font-family: "kofu-{face}"; src: url({css_str(path.as_uri())}) format("truetype"); }}'
        for face, path in fonts.items()
    )
    sizes = "\n".join(f".s-{name} {{ font-size: {pt(size)}; }}" for name, size in SIZES.items())
    return f"""{faces}
@page {{
  size: A4;
  margin: 20mm;
  @bottom-center {{
    content: {footer_content};
    font-family: "kofu-gothic";
    font-size: {pt(SIZES["small"])};
    line-height: 1;
    white-space: nowrap;
    vertical-align: bottom;
    padding-bottom: {pt(footer_bottom)};
  }}
}}
html {{ font-family: "kofu-mincho"; font-size: {pt(SIZES["normal"])}; line-height: {LEADING}; }}
body, p, div, table {{ margin: 0; padding: 0; }}
/* Gaps come after blocks as padding, which never collapses; a heading's gap
   before it is a margin, dropped at the top of a page as kofu drops it. */
.title {{ font-family: "kofu-gothic"; font-size: {pt(SIZES["title"])}; line-height: {TITLE_LEADING};
  text-align: center; padding-bottom: {pt(TITLE_GAP)}; }}
.text {{ white-space: pre-line; }}
.f-mincho {{ font-family: "kofu-mincho"; }}
.f-gothic {{ font-family: "kofu-gothic"; }}
{sizes}
.a-left {{ text-align: left; }}
.a-center {{ text-align: center; }}
.a-right {{ text-align: right; }}
.heading {{ break-after: avoid; }}
.grid {{ padding-bottom: {pt(BLOCK_GAP)}; }}
.grid.kv {{ break-inside: avoid; }}
table {{ width: 100%; table-layout: fixed; border-collapse: collapse; }}
/* Collapsed borders take half their width from each cell; kofu's strokes
   take no space, so the padding gives that half back. */
td, th {{ border: {BORDER}pt solid black; padding: {pt(CELL_PAD_Y - BORDER / 2)} {pt(CELL_PAD_X - BORDER / 2)};
  font-size: {pt(CELL_SIZE)}; line-height: {CELL_LEADING}; vertical-align: top; font-weight: normal;
  white-space: pre-line; }}
tr {{ break-inside: avoid; }}
th {{ font-family: "kofu-gothic"; }}
thead th {{ background: {css_gray(HEADER_GRAY)}; text-align: center; }}
.kv th {{ background: {css_gray(KEY_GRAY)}; text-align: left;
  width: {pt(round(TEXT_WIDTH * KEY_SHARE) - 2 * CELL_PAD_X)}; }}
.rule {{ padding: 2mm 0; break-inside: avoid; }}
.rule div {{ border-top: 0.5pt solid black; }}
.page-break {{ break-before: page; }}
.impression {{ padding: 2mm 0 {pt(BLOCK_GAP)}; break-inside: avoid; }}
/* kofu strokes seal outlines centred on their paths; CSS borders lie inside
   the box, so boxes grow by the stroke width to put the lines in place. */
.ring {{ box-sizing: border-box; margin: 0 auto; border: {IMPRESSION_STROKE}pt solid {red}; border-radius: 50%;
  width: {pt(IMPRESSION_DIAMETER + IMPRESSION_STROKE)}; height: {pt(IMPRESSION_DIAMETER + IMPRESSION_STROKE)};
  position: relative; }}
.ring .inner {{ position: absolute; box-sizing: border-box; border: 0.5pt solid {red}; border-radius: 50%;
  left: {pt(ring_gap)}; top: {pt(ring_gap)}; right: {pt(ring_gap)}; bottom: {pt(ring_gap)}; }}
.seal-grid {{ position: absolute; display: flex; flex-direction: row-reverse; }}
.seal-column {{ display: flex; flex-direction: column; justify-content: center; }}
.seal-char {{ text-align: center; font-family: "kofu-mincho"; color: {red}; }}
.closing {{ break-inside: avoid; margin-top: 5mm; }}
.signature {{ padding-right: {pt(name_inset)}; text-align: right; }}
.date {{ padding-top: 6mm; padding-bottom: {pt(seal_below + 1.5 * MM)}; }}
.name {{ font-size: {pt(SIZES["large"])}; position: relative; margin-bottom: {pt(seal_below)}; }}
.official {{ position: absolute; box-sizing: border-box; border: {OFFICIAL_STROKE}pt solid {red};
  right: {pt(-OFFICIAL_STROKE / 2)}; top: {pt((large_line - OFFICIAL_SIDE - OFFICIAL_STROKE) / 2)};
  width: {pt(OFFICIAL_SIDE + OFFICIAL_STROKE)}; height: {pt(OFFICIAL_SIDE + OFFICIAL_STROKE)}; }}
"""


def weasyprint_html(document):
    esc = html.escape

    def seal(text, inner, official, box):
        """The seal grid centred in the seal outline's content box, of side `box`."""
        chunks, cell_w, cell_h, size, stretch = seal_cells(text, inner, official)
        offset = (box - inner) / 2
        columns = "".join(
            f'<div class="seal-column" style="width: {pt(cell_w)}; height: {pt(inner)}">'
            + "".join(
                f'<div class="seal-char" style="height: {pt(cell_h)}; line-height: {pt(cell_h)}; '
                f'font-size: {pt(size)}; transform: scaleY({stretch:.4f})">{esc(c)}</div>'
                for c in chunk
            )
            + "</div>"
            for chunk in chunks
        )
        return f'<div class="seal-grid" style="left: {pt(offset)}; top: {pt(offset)}">{columns}</div>'

    def text_div(kind, text):
        size = SIZES[text["size"]]
        if kind == "heading":
            spacing = f"margin-top: {pt(0.6 * size)}; padding-bottom: {pt(0.3 * size)}"
        else:
            spacing = f"padding-bottom: {pt(0.5 * size)}"
        classes = f"text {kind} f-{text['face']} s-{text['size']} a-{text['align']}"
        return f'<div class="{classes}" style="{spacing}">{esc(text["content"])}</div>\n'

    out = [
        f'<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8"><title>{esc(document["title"])}</title>'
        f'</head><body>\n<div class="title">{esc(document["title"])}</div>\n'
    ]
    for block in document["blocks"]:
        if block == "rule":
            out.append('<div class="rule"><div></div></div>\n')
        elif block == "page-break":
            out.append('<div class="page-break"></div>\n')
        elif "heading" in block:
            out.append(text_div("heading", block["heading"]))
        elif "paragraph" in block:
            out.append(text_div("paragraph", block["paragraph"]))
        elif "key-values" in block:
            rows = "".join(f"<tr><th>{esc(r['key'])}</th><td>{esc(r['value'])}</td></tr>" for r in block["key-values"])
            out.append(f'<div class="grid kv"><table>{rows}</table></div>\n')
        elif "table" in block:
            columns = block["table"]["columns"]
            total = sum(max(c["weight"], 1) for c in columns)
            cols = "".join(f'<col style="width: {100 * max(c["weight"], 1) / total:.4f}%">' for c in columns)
            head = "".join(f"<th>{esc(c['header'])}</th>" for c in columns)
            body = "".join(
                "<tr>"
                + "".join(f'<td class="a-{c["align"]}">{esc(cell)}</td>' for c, cell in zip(columns, row, strict=True))
                + "</tr>"
                for row in block["table"]["rows"]
            )
            out.append(
                f'<div class="grid"><table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>\n"
            )
        elif "spacing" in block:
            out.append(f'<div style="height: {block["spacing"]}mm"></div>\n')
        elif "seal-impression" in block:
            grid = seal(
                block["seal-impression"],
                impression_inner(),
                official=False,
                box=IMPRESSION_DIAMETER - IMPRESSION_STROKE,
            )
            out.append(f'<div class="impression"><div class="ring"><div class="inner"></div>{grid}</div></div>\n')
        else:
            fail(f"unknown block {json.dumps(block, ensure_ascii=False)[:80]}")

    signature = document["signature"]
    official = seal(signature["seal"], official_inner(), official=True, box=OFFICIAL_SIDE - OFFICIAL_STROKE)
    out.append(
        f'<div class="closing">\n<div class="text">{esc(document["certification"])}</div>\n'
        f'<div class="signature date">{esc(signature["date_line"])}</div>\n'
        f'<div class="signature name">{esc(signature["title"])}\u3000{esc(signature["name"])}'
        f'<div class="official">{official}</div></div>\n</div>\n</body></html>\n'
    )
    return "".join(out)


def weasyprint_peer(document, footer, fonts):
    """Returns (version, render, pages): render() writes PDF bytes."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    metrics = {face: font_metrics(path) for face, path in fonts.items()}
    markup = weasyprint_html(document)

    # WeasyPrint logs its problems (a CSS rule it ignores, a font it cannot
    # load) to a logger that prints nothing: show them while the stylesheet
    # loads and the pages are counted, and keep the timed renders quiet.
    logger = logging.getLogger("weasyprint")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("peers: weasyprint %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    try:
        # The stylesheet is parsed once with the font configuration that loads
        # its @font-face fonts, and both are reused: the counterpart of Typst's
        # reused compiler. Each document is still parsed, laid out and written.
        font_config = FontConfiguration()
        css = weasyprint.CSS(string=weasyprint_css(footer, fonts, metrics), font_config=font_config)
        pages = len(weasyprint.HTML(string=markup).render(stylesheets=[css], font_config=font_config).pages)
    finally:
        logger.removeHandler(handler)

    def render():
        return weasyprint.HTML(string=markup).write_pdf(stylesheets=[css], font_config=font_config)

    return weasyprint.__version__, render, pages


# --- Measurement -----------------------------------------------------------


def measure(name, render, pages, version, seconds, out_dir):
    pdf = render()  # warm-up: first-use costs (font loading, caches) are not timed
    if not pdf.startswith(b"%PDF"):
        fail(f"{name} returned {pdf[:16]!r}..., not a PDF")
    if out_dir:
        (out_dir / f"{name}.pdf").write_bytes(pdf)

    times = []
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        t0 = time.perf_counter()
        render()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if t1 >= deadline:
            break
    elapsed = time.perf_counter() - start

    times.sort()

    def percentile(p):
        return times[min(len(times) - 1, math.ceil(p / 100 * len(times)) - 1)] * 1000

    return {
        "version": version,
        "docs": len(times),
        "seconds": round(elapsed, 3),
        "docs_per_s": round(len(times) / elapsed, 2),
        "p50_ms": round(percentile(50), 3),
        "p99_ms": round(percentile(99), 3),
        "bytes": len(pdf),
        "pages": pages,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("document", help="JSON with document, footer and fonts")
    parser.add_argument("--seconds", type=float, required=True, help="time spent rendering per peer")
    parser.add_argument("--out-dir", type=Path, help="write typst.pdf and weasyprint.pdf here")
    parser.add_argument("--only", choices=("typst", "weasyprint"), help="run one peer")
    args = parser.parse_args()
    if args.seconds <= 0:
        fail("--seconds must be positive")
    document, footer, fonts = load_job(args.document)
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)

    results = {}
    with tempfile.TemporaryDirectory(prefix="kofu-peers-") as workdir:
        if args.only in (None, "typst"):
            version, render, pages = typst_peer(document, footer, fonts, Path(workdir))
            results["typst"] = measure("typst", render, pages, version, args.seconds, args.out_dir)
        if args.only in (None, "weasyprint"):
            version, render, pages = weasyprint_peer(document, footer, fonts)
            results["weasyprint"] = measure("weasyprint", render, pages, version, args.seconds, args.out_dir)
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
