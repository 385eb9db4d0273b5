"""Is a wider, multi-scale view the lever NRRN lacks? A 3-slice U-Net trained by NRRN base's recipe.

Issue 7's 30 % target is missed by the shipped NRRNs, which see 11 px of each of three slices and score
no better than the best linear filter of those slices (``benchmarks/z_context.py``). A dilated NRRN
(19 px) gained nothing. This probe trains a plain U-Net on the three slices as channels (three levels,
``--width`` channels at full resolution, max-pool down, transposed-conv up, skip concatenation, a
residual on the centre slice; receptive field about 50 px) with the shipped NRRN's data and noise:
``NRRNTrainer``'s synthetic triplets from the clean FlyEM training volume and validation slices 0-95,
Poisson 5-400 counts per pixel and 15 % Gaussian, z-scored per slice, MSE to the clean centre; Adam,
100 warm-up steps, cosine decay over a wall-clock budget. It then scores the U-Net and the shipped
``flyem-nrrn-base`` on whole 520x520 test slices of the quality benchmark (96-127, every 8th, the
benchmark's own noise) at doses 25 and 100. A scratch probe, not a model the app ships.

    .venv/bin/python benchmarks/unet_probe.py [--budget 2700] [--width 32] [--crop 96]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, machine, save_json, today, write_section  # noqa: E402
from benchmarks.quality_data import CONDITIONS, load_datasets  # noqa: E402
from benchmarks.train_shipped import TRAIN1, validation_training_slices  # noqa: E402
from emdenoise_gui.core import metrics  # noqa: E402
from emdenoise_gui.core.pipeline import neighbour_indices  # noqa: E402
from emdenoise_gui.inference.predictor import Predictor  # noqa: E402
from emdenoise_gui.paths import shipped_models_dir  # noqa: E402
from emdenoise_gui.training.spec import RunSpec  # noqa: E402
from emdenoise_gui.training.trainers.nrrn import NRRNTrainer  # noqa: E402
from emdenoise_gui.zoo.package import open_package  # noqa: E402

DOSES = ("poisson-dose 25", "poisson-dose 100")
LR, WARM_UP, BATCH = 1e-3, 100, 8


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class StackUNet(nn.Module):
    """(B, 3, H, W) z-scored [prev, centre, next], H and W divisible by 4 -> (B, 1, H, W) denoised centre."""

    def __init__(self, width: int = 32, levels: int = 3):
        super().__init__()
        ch = [width * 2**k for k in range(levels)]
        self.encoders = nn.ModuleList(_block(3 if k == 0 else ch[k - 1], ch[k]) for k in range(levels))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(ch[k + 1], ch[k], 2, stride=2) for k in range(levels - 1))
        self.decoders = nn.ModuleList(_block(2 * ch[k], ch[k]) for k in range(levels - 1))
        self.head = nn.Conv2d(ch[0], 1, 1)

    def forward(self, stack3: torch.Tensor) -> torch.Tensor:
        x, skips = stack3, []
        for k, encoder in enumerate(self.encoders):
            x = encoder(x)
            if k < len(self.encoders) - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for k in reversed(range(len(self.decoders))):
            x = self.decoders[k](torch.cat([self.ups[k](x), skips[k]], 1))
        return stack3[:, 1:2] + self.head(x)


def train(net: nn.Module, budget_s: float, crop: int) -> tuple[int, float]:
    """Train ``net`` for ``budget_s`` seconds of wall clock on NRRN base's synthetic triplets; (steps, s/step)."""
    data = {"clean": [str(TRAIN1), str(validation_training_slices(ROOT / "trained"))]}
    spec = RunSpec(family="nrrn", config="base", steps=10**6, crop=crop, batch_size=BATCH, lr=LR, data=data,
                   dose=(5.0, 400.0), gaussian_fraction=0.15, device="cpu", output=str(ROOT / "trained" / "probe"),
                   neighbours="mean").validated()
    sampler = NRRNTrainer(spec, torch.device("cpu"))
    sampler.load_data()
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    rng, start, step = np.random.default_rng(0), time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < budget_s:
        for group in optimiser.param_groups:
            group["lr"] = LR * min(1.0, (step + 1) / WARM_UP) * 0.5 * (1 + np.cos(np.pi * elapsed / budget_s))
        inputs, target = sampler.sample(step, rng)
        loss = F.mse_loss(net(torch.from_numpy(inputs)), torch.from_numpy(target))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        if step % 250 == 0:
            print(f"step {step}, {elapsed:.0f} s, loss {loss.item():.4f}", flush=True)
    return step, (time.perf_counter() - start) / max(step, 1)


def score(models: dict, conditions=DOSES) -> dict:
    """{condition: {name: mean PSNR dB}} of whole test slices, each model fed (1, 3, H, W) z-scored slices."""
    flyem = load_datasets(step=8, with_sstem=False)[0]
    table = {}
    for name in conditions:
        noisy = flyem.noisy(CONDITIONS[name]).astype(np.float32) / 255.0
        first = flyem.z_range.start
        psnr = {key: [] for key in models}
        for z in flyem.slices:
            window = noisy[[k - first for k in neighbour_indices(z, len(flyem.clean), 3)]]
            stats = [(float(s.mean()), float(s.std())) for s in window]
            stack = torch.from_numpy(np.stack([(s - m) / d for s, (m, d) in zip(window, stats)])[None])
            mean, std = stats[1]
            for key, model in models.items():
                with torch.inference_mode():
                    out = model(stack)[0, 0].numpy() * std + mean
                psnr[key].append(metrics.psnr(flyem.reference(z), np.clip(out, 0, 1)))
        table[name] = {key: round(float(np.mean(v)), 2) for key, v in psnr.items()}
        print(name, table[name], flush=True)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=2700.0, help="training wall-clock seconds")
    parser.add_argument("--width", type=int, default=32, help="channels at full resolution")
    parser.add_argument("--crop", type=int, default=96, help="training crop side (px, divisible by 4)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    net = StackUNet(args.width)
    parameters = sum(p.numel() for p in net.parameters())
    steps, s_per_step = train(net, args.budget, args.crop)
    net.eval()
    base = Predictor(open_package(shipped_models_dir() / "flyem-nrrn-base"), torch.device("cpu")).model
    table = score({"unet": net, "flyem-nrrn-base": base.denoise})
    command = "python benchmarks/unet_probe.py " + " ".join(argv if argv is not None else sys.argv[1:])
    save_json("unet_probe", {"date": today(), "machine": machine(), "command": command.strip(),
                             "parameters": parameters, "steps": steps, "s_per_step": s_per_step,
                             "budget_s": args.budget, "width": args.width, "crop": args.crop, "psnr_db": table})
    rows = [f"| {key} | " + " | ".join(f"{table[d][key]:.2f}" for d in DOSES) + " |" for key in table[DOSES[0]]]
    write_section("unet_probe", f"""### Q: a 3-slice U-Net by NRRN base's recipe (a probe, not shipped)

Command: `{command.strip()}`. Machine: {machine()}. Date: {today()}. {parameters:,} parameters, {steps:,} steps
of {BATCH} crops of {args.crop} px in {args.budget:.0f} s ({s_per_step:.2f} s per step, 2 torch threads). PSNR dB on
whole FlyEM test slices (the quality benchmark's slices and noise); NRRN base scored the same way.

| model | dose 25 | dose 100 |
|---|---|---|
{chr(10).join(rows)}""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
