"""The report's look: scenario colours, line styles and hatches, matplotlib settings and image encoding."""

from __future__ import annotations

import base64
import io

from planner.maps import BANDS

#: Scenario colours (Okabe-Ito, ordered so that neighbours differ in lightness) with a line style
#: and a hatch each, so charts stay readable when printed in greyscale.
COLOURS = ["#0b3d91", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#f0e442"]


LINES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 2)), (0, (8, 2)), (0, (3, 1, 1, 1, 1, 1))]


HATCHES = ["", "////", "....", "xxxx", "\\\\\\\\", "++++", "oo", "--"]


_HUB_PALETTE = ["#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffff99", "#d9d9d9", "#ccebc5"]


_MAP_SIMPLIFY_M = 20.0


#: Hatches on the travel-time bands beyond 45 minutes (45-60 dotted, over 60 striped), for greyscale prints.
_OVER_45 = {i: "...." if i == len(BANDS) - 2 else "////" for i in range(1, len(BANDS)) if BANDS[i - 1][0] >= 45}


_HATCH = "#5a1a00"


def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    return matplotlib


_RC = {
    "svg.hashsalt": "planner-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "axes.labelcolor": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
    "path.simplify": True,
}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout=None)


def _svg_uri(fig) -> str:
    mpl = _mpl()
    buf = io.BytesIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches=None)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def _png_uri(fig, dpi: int = 170) -> str:
    """The figure as a palette PNG (maps have few colours; this keeps the page light and prints fast)."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=dpi, facecolor="white")
    width, height = (round(v * dpi) for v in fig.get_size_inches())
    image = Image.frombytes("RGBA", (width, height), raw.getvalue()).convert("RGB")
    image = image.quantize(colors=128, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(dpi, dpi))
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _style(i: int) -> dict:
    return {"color": COLOURS[i % len(COLOURS)], "linestyle": LINES[i % len(LINES)]}


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")
