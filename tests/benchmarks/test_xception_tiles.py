"""benchmarks/xception_tiles.py: the variants it compares, the papers' tiling first and the app's named."""

import torch

from benchmarks import xception_tiles
from emdenoise_gui.core.tiling import TilePlan
from emdenoise_gui.inference.predictor import Predictor
from tests.conftest import random_package


def test_variants_start_with_the_papers_tiling_and_name_the_apps(tmp_path):
    predictor = Predictor(random_package(tmp_path / "x", "xception"), torch.device("cpu"))
    assert predictor.plan() == TilePlan.whole_tile(240, True, 32)  # the training crop, overlapping by 32 px
    assert predictor.plan(512, 256) == TilePlan.paper(240, 120)  # "quality: paper"
    variants = xception_tiles.plans(predictor, (60, 32))
    assert list(variants) == [xception_tiles.PAPER, "band, overlap 60", "band, overlap 32 (the app's)"]
    assert list(variants.values())[0] == TilePlan.paper(240, 120)
