"""The GEMM peak of the speed benchmark stays seconds long on a CPU that only emulates a dtype: a
4096^3 bf16 product takes minutes on AVX2 (0.7 GFLOP/s), and timing eleven of them stalled make test."""

import torch

from benchmarks import speed_parts


def test_side_grows_only_while_a_product_is_quick(monkeypatch):
    sides = {}

    def fake_time(a, b, device, reps):
        n = a.shape[0]
        sides.setdefault(a.dtype, []).append(n)
        gflops = 60.0 if a.dtype == torch.float32 else 0.7  # Zen 1: fp32 native, bf16 emulated
        return 2 * n**3 / (gflops * 1e9)

    monkeypatch.setattr(speed_parts, "_time_product", fake_time)
    peak = speed_parts.gemm_peak("cpu")
    assert peak == {"float32": 60.0, "bfloat16": 0.7}
    assert max(sides[torch.float32]) == 2048  # 4.5 ms at 512, 36 ms at 1024, 0.29 s at 2048: stop
    assert set(sides[torch.bfloat16]) == {512}  # 0.38 s at 512 already: never a larger side
    assert len(sides[torch.bfloat16]) == 1 + 5  # the probe, then the best of five
