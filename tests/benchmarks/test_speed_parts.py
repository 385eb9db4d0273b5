"""The speed benchmark's measurement helpers (benchmarks/speed_parts.py) that need no timing."""

import numpy as np

from benchmarks import speed_parts


def test_cuda_variants_warm_up_on_the_whole_slice_so_cudnn_autotuning_is_not_timed():
    image = np.arange(3 * 40 * 50, dtype=np.float32).reshape(3, 40, 50)
    cpu = speed_parts.warm_input(image, (16, 16), "cpu")
    assert cpu.shape == (3, 16, 16) and cpu.flags.c_contiguous and (cpu == image[:, :16, :16]).all()
    assert speed_parts.warm_input(image, (16, 16), "cuda").shape == (3, 40, 50)



def test_host_variant_keeps_the_tiles_on_the_host(tmp_path, monkeypatch):
    """fast-bf16-host is fast-bf16 with inference.device_tiles off (the Predictor's default, on CUDA, is on):
    the two rows of one run give the gain."""
    from emdenoise_gui.inference import predictor

    real, asked = predictor.Predictor, []

    def recording(*args):
        asked.append(args[5])  # device_tiles
        return real(*args)

    monkeypatch.setattr(predictor, "Predictor", recording)
    rows = [speed_parts.infer_one({"family": "n2v", "config": "lite", "variant": variant, "device": "cpu",
                                   "size": 64, "budget": 5, "scratch": str(tmp_path)})
            for variant in ("fast-bf16-host", "fast-bf16")]
    assert asked == [False, None] and all(r["device_tiles"] is False for r in rows)  # the CPU: host either way
    assert speed_parts.VARIANTS["fast-bf16-host"] == speed_parts.VARIANTS["fast-bf16"]
