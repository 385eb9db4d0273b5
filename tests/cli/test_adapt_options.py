"""`denoise --adapt` checks the options its denoise will use before the training, not after (CLI audit of
2026-12-07): a bad --tile, --batch-size, --ngff, --scheduler (or --scheduler with --slices) or an output type too
narrow for the input was refused after minutes of training, the model kept, and the corrected command trained
another (`-adapted-2`, `-3`, ...)."""

import numpy as np
import pytest
import tifffile

from tests.cli.test_models import home  # noqa: F401


@pytest.mark.parametrize("options, said", [
    (["--tile", "3"], "--tile 3"),
    (["--batch-size", "0"], "--batch-size 0"),
    (["--ngff", "0.4"], "--ngff goes with --scheduler"),
    (["--scheduler", "bogus"], "--scheduler bogus"),
    (["--scheduler", "here", "--slices", "1:3"], "leave out --slices"),
    (["--dtype", "uint8"], "beyond uint8's 0 to 255"),
])
def test_what_the_denoise_would_refuse_is_said_before_the_training(cli, home, tmp_path, noisy_crop,  # noqa: F811
                                                                  options, said):
    wide = tmp_path / "wide.tif"
    tifffile.imwrite(wide, tifffile.imread(noisy_crop).astype(np.uint16) * 200, photometric="minisblack")
    out = tmp_path / ("o.zarr" if "--ngff" in options or "--scheduler" in options else "o.tif")
    result = cli("denoise", wide, "-o", out, "--adapt", "n2v", "--steps", "2", "--device", "cpu", *options)
    assert result.code == 2 and said in result.err, result.err
    assert "wrote model package" not in result.out and not out.exists()
    assert not (home / "models").exists() or not any((home / "models").iterdir())
