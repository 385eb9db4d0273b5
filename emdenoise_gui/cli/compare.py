"""``emdenoise compare``: PSNR, SSIM and MSE of images against a clean reference, as a table."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from emdenoise_gui.cli.exits import EXIT_OK
from emdenoise_gui.cli.progress import run_with_bar
from emdenoise_gui.jobs.compare import compare_job

#: Share of an image's pixels outside the reference's range above which ``compare`` says so.
CLIPPED_NOTE = 0.5
#: An image whose values span less than this share of the reference's range gets a note from ``compare``.
NARROW_NOTE = 0.1


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="PSNR / SSIM / MSE of images against a clean reference")
    p.add_argument("clean", metavar="CLEAN")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--slices", help="the reference slices the images correspond to, START:STOP")
    p.set_defaults(func=cmd_compare)


def _psnr_text(row) -> str:
    """The PSNR column (15 characters): mean ± std in dB over the slices not equal to the reference's; an image
    equal to it in every slice is 'identical'."""
    mean, sd = row.psnr
    return f"{mean:7.2f} ± {sd:5.2f}" if math.isfinite(mean) else f"{'identical':>15}"


def cmd_compare(args) -> int:
    from emdenoise_gui.cli.info import note_missing_chunks

    for path in (args.clean, *args.images):  # a chunk not stored reads as 0: the numbers would be against zeros
        note_missing_chunks(path)
    rows = run_with_bar(compare_job(args.clean, args.images, args.slices))
    width = max(len("image"), *(len(r.name) for r in rows))
    lo, hi = rows[0].scaled
    which = "its 8-bit type's range" if rows[0].by_type else "its minimum and maximum" + (
        ", leaving out outliers such as hot pixels" if rows[0].outliers else "")
    print(f"reference: {Path(args.clean).name}; {rows[0].slices} slices, values scaled to [0, 1] by {lo:g} to "
          f"{hi:g} ({which}) and clipped; mean ± std over slices")
    print(f"{'image':<{width}}  {'PSNR (dB)':>15}  {'SSIM':>15}  {'MSE':>19}")
    # by the mean MSE: with a slice equal to the reference's in every row (a blank padding slice) each PSNR was
    # inf, and the noisy input was marked best (dtype audit)
    best = min(range(len(rows)), key=lambda k: rows[k].mse[0]) if len(rows) > 1 else None
    for k, r in enumerate(rows):
        print(f"{r.name:<{width}}  {_psnr_text(r)}  {r.ssim[0]:7.4f} ± {r.ssim[1]:5.4f}"
              f"  {r.mse[0]:.3e} ± {r.mse[1]:.1e}" + ("  <- lowest MSE" if k == best else ""))
    for r in rows:
        if 0 < r.identical < r.slices:
            print(f"emdenoise: note: {r.name}: {r.identical} of its {r.slices} slices equal the reference's (a blank "
                  "slice, say): its PSNR is over the others", file=sys.stderr)
        if r.clipped > CLIPPED_NOTE:
            print(f"emdenoise: note: {r.name}: {r.clipped:.0%} of its pixels lie outside the reference's range and "
                  "were clipped to it: its numbers mean little unless it is on the reference's scale (same type "
                  "and range)", file=sys.stderr)
        elif r.span < NARROW_NOTE:
            print(f"emdenoise: note: {r.name}: its values span {r.span:.1%} of the reference's range: it is most "
                  "likely on another scale (e.g. 0 to 1 against 8-bit data), so its numbers mean little; rescale it "
                  "to the reference's type and range", file=sys.stderr)
    return EXIT_OK
