"""HDR pictures (BT.2020 with PQ or HLG, as phones record them) tone-mapped to SDR BT.709, as browsers show them right.

A player that takes an HDR stream for SDR shows it washed out (PQ spends
its code values on up to 10 000 nits, which look grey at 100), and one that
converts only the colour matrix clips every highlight. The copy and the
poster are therefore tone-mapped the way ``zscale`` and ``tonemap`` do it on
FFmpeg's command line (Jellyfin's software path): to linear light (1.0 being
SDR's 100-nit white), BT.2020's primaries to BT.709's, Hable's filmic curve
on the brightest component of each pixel and the same factor on the other
two (so hues keep their balance, ``tonemap=hable:desat=0``), then BT.709's
transfer function and matrix.

PyAV's bundled FFmpeg has ``tonemap`` but neither ``zscale`` nor a
``colorspace`` filter that knows PQ or HLG, so no chain of its filters
reaches linear light. The whole map from an HDR pixel's R'G'B' to its SDR
Y'CbCr is instead computed here, once per process and transfer function,
into a 3D table of :data:`LUT_SIZE` points a side (the ``.cube`` files of
colour grading), which FFmpeg's ``lut3d`` applies with tetrahedral
interpolation: as fast as any filter, in C, on every core. PQ's code values
are spaced evenly for the eye, so the points are too.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter

from ..library.formats import HDR_TRANSFERS
from ..library.formats import HLG
from ..library.formats import PQ

#: ``AVColorTransferCharacteristic`` numbers to those names (a frame or a stream gives the number).
_TRANSFER_NUMBERS = {16: PQ, 18: HLG}
#: FFmpeg's number of BT.709 (as primaries, transfer and matrix alike), tagged on the SDR pictures.
BT709 = 1
#: The brightest light the curve keeps apart from white, in units of 100 nits: 1000 nits, the peak FFmpeg's
#: ``tonemap`` takes for linear light that does not give its own (and about what phones master to).
PEAK = 10.0
#: Points on each side of the table; with tetrahedral interpolation the copy stays well within 1% of the map.
LUT_SIZE = 65
#: BT.2020's primaries in BT.709's, for linear RGB (ITU-R BT.2087).
BT2020_TO_BT709 = (
    (1.6605, -0.5876, -0.0728),
    (-0.1246, 1.1329, -0.0083),
    (-0.0182, -0.1006, 1.1187),
)


def is_hdr(transfer: str | None) -> bool:
    return transfer in HDR_TRANSFERS


def transfer_name(number: Any) -> str | None:
    """FFmpeg's name of the HDR transfer function numbered ``number`` (a ``color_trc``); None for any other."""
    return _TRANSFER_NUMBERS.get(int(number or 0))


class ToneMapper:
    """Turns decoded HDR frames into 8-bit 4:2:0 BT.709 ones of a given size (a filter graph, as in ``Deinterlacer``).

    The graph is set up at the first frame (its size and pixel format are
    the stream's): swscale turns the picture into 16-bit R'G'B' by BT.2020's
    matrix, scaled to the wanted size, and ``lut3d`` maps it to full-range
    Y'CbCr, which swscale subsamples to limited-range 4:2:0. The frames come
    out one for one, on the source's clock, tagged BT.709.
    """

    def __init__(self, transfer: str, width: int | None = None, height: int | None = None) -> None:
        self.transfer = transfer
        self.size = (width, height)
        self.graph: Any = None

    def picture(self, frame: Any) -> Any:
        if self.graph is None:
            self.graph = self._graph(frame)
        self.graph.push(frame)
        mapped = self.graph.pull()
        # The table gave Y'CbCr in the planes of an RGB frame: the same planes, named as what they hold.
        full = av.VideoFrame(mapped.width, mapped.height, "yuv444p16le")
        for plane, source in zip(full.planes, (mapped.planes[0], mapped.planes[1], mapped.planes[2]), strict=True):
            _copy_plane(source, plane)
        full.color_range = 2  # JPEG (full range)
        picture = full.reformat(
            format="yuv420p", src_colorspace="itu709", dst_colorspace="itu709", src_color_range=2, dst_color_range=1,
            dst_color_trc=BT709, dst_color_primaries=BT709,
        )
        picture.colorspace = BT709
        picture.pts, picture.time_base = frame.pts, frame.time_base
        return picture

    def _graph(self, frame: Any) -> Any:
        width, height = self.size
        graph = av.filter.Graph()
        time_base = frame.time_base or Fraction(1, 25)
        source = graph.add(
            "buffer",
            f"video_size={frame.width}x{frame.height}:pix_fmt={frame.format.name}"
            f":time_base={time_base.numerator}/{time_base.denominator}:pixel_aspect=1/1"
            # Untagged HDR video is limited range, as every phone and camera writes it.
            f":colorspace=bt2020nc:range={'pc' if int(frame.color_range) == 2 else 'tv'}",
        )
        chain = [
            source,
            graph.add("scale", f"w={width or frame.width}:h={height or frame.height}:in_color_matrix=bt2020"),
            graph.add("format", "gbrp16le"),
            graph.add("lut3d", f"file={_escaped(str(lut_file(self.transfer)))}:interp=tetrahedral"),
            graph.add("buffersink"),
        ]
        for before, after in zip(chain, chain[1:], strict=False):
            before.link_to(after)
        graph.configure()
        return graph


@functools.cache
def lut_file(transfer: str) -> Path:
    """The ``.cube`` table of the map for ``transfer``, written once into the temporary folder and shared by processes.

    Its name holds a digest of this module, so a table of another version of
    the code is never taken for it (computing one takes a second or two); it
    is written to a file of its own, then renamed into place, so no process
    reads half of one.
    """
    version = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"portal-tonemap-{transfer}-{version}.cube"
    if not path.exists():
        descriptor, partial = tempfile.mkstemp(dir=path.parent, suffix=".cube.part")
        with os.fdopen(descriptor, "w") as out:
            out.write(_cube(transfer))
        os.replace(partial, path)
    return path


def _cube(transfer: str) -> str:
    """The table's text: for every R'G'B' of the grid (red fastest), the SDR Y'CbCr of the map.

    The table ends in Y'CbCr, not R'G'B': BT.2020 colours outside BT.709's
    gamut come out with a negative component, which R'G'B' planes would clip
    (lightening every saturated edge) while Y'CbCr keeps it, as ``zscale``
    does, until the screen clips it.
    """
    to_linear = _pq_to_linear if transfer == PQ else _hlg_to_linear
    steps = [to_linear(index / (LUT_SIZE - 1)) for index in range(LUT_SIZE)]
    scale = 1 / _hable(PEAK)
    lines = [f'TITLE "{transfer} to BT.709, Hable"', f"LUT_3D_SIZE {LUT_SIZE}"]
    for blue in steps:
        for green in steps:
            for red in steps:
                rgb = [m[0] * red + m[1] * green + m[2] * blue for m in BT2020_TO_BT709]
                brightest = max(*rgb, 1e-6)
                factor = _hable(brightest) * scale / brightest
                r, g, b = (_bt1886_inverse(min(1.0, value * factor)) for value in rgb)
                luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
                # As a gbrp frame's planes: G is Y', B is Cb, R is Cr (full range, chroma around 0.5).
                ycbcr = (_unit((r - luma) / 1.5748 + 0.5), _unit(luma), _unit((b - luma) / 1.8556 + 0.5))
                lines.append(" ".join(f"{value:.6f}" for value in ycbcr))
    return "\n".join(lines) + "\n"


def _pq_to_linear(code: float) -> float:
    """SMPTE ST 2084's EOTF: a code value (0-1) to light in units of 100 nits (0-100)."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    power = code ** (1 / m2)
    return 100 * (max(power - c1, 0) / (c2 - c3 * power)) ** (1 / m1)


def _hlg_to_linear(code: float) -> float:
    """ARIB STD-B67's inverse OETF, then a 1000-nit display's OOTF (gamma 1.2), in units of 100 nits (0-10).

    BT.2100 applies the OOTF's gamma to the luminance of all three
    components; per component it differs little on natural pictures, and
    keeps the table's axes apart.
    """
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    scene = code * code / 3 if code <= 0.5 else (math.exp((code - c) / a) + b) / 12
    return 10 * scene**1.2


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def _bt1886_inverse(linear: float) -> float:
    """The code value a BT.709 screen (BT.1886: gamma 2.4) shows as ``linear`` (0-1) of its white.

    PQ's light is the light of a display, not of a scene, so the copy is
    coded for the display's EOTF, not with BT.709's camera OETF (which would
    show it a tenth lighter and flatter); ``zscale`` does the same.
    """
    return math.copysign(abs(linear) ** (1 / 2.4), linear)


def _hable(value: float) -> float:
    """John Hable's filmic curve (Uncharted 2), with the constants of FFmpeg's ``tonemap``."""
    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    return (value * (value * a + c * b) + d * e) / (value * (value * a + b) + d * f) - e / f


def _copy_plane(source: Any, target: Any) -> None:
    """The pixels of one plane into another of the same size, whatever padding ends each one's lines."""
    data = bytes(source)
    if source.line_size == target.line_size:
        target.update(data[: target.buffer_size])
        return
    width = min(source.line_size, target.line_size)
    rows = bytearray(target.buffer_size)
    for row in range(target.height):
        start, end = row * source.line_size, row * source.line_size + width
        rows[row * target.line_size : row * target.line_size + width] = data[start:end]
    target.update(bytes(rows))


def _escaped(path: str) -> str:
    """A path as a filter's option value: ``:`` and ``\\`` and ``'`` would end or bend it."""
    return path.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
