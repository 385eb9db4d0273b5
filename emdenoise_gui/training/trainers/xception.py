"""Xception training: clean crops with synthetic Poisson noise, per-crop min-max scaling."""

from __future__ import annotations

import numpy as np
import torch

from emdenoise_gui.models import xception
from emdenoise_gui.training.data import sample_crops
from emdenoise_gui.training.synthetic import NoiseModel
from emdenoise_gui.training.trainers.base import VAL_CROPS, VAL_SEED, BaseTrainer

#: Batches used to re-estimate BatchNorm statistics before xception's BN is frozen or exported.
BN_CALIBRATION_BATCHES = 16


def _bn_modules(model: torch.nn.Module) -> list[torch.nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]


class XceptionTrainer(BaseTrainer):
    """Supervised on clean crops with synthetic Poisson noise (``spec.dose`` and ``spec.dose_dist``;
    the paper configuration draws Ede & Beanland's 25 + Exp(75) counts at full scale by default).

    Each noisy crop is min-max scaled to [0, 1] (``minmax-tile``) and the clean crop is mapped
    by the same affine map, so the prediction maps back exactly. The paper configuration uses
    Ede & Beanland's rate steps (1, 0.25, 0.1) and freezes BatchNorm at the first drop;
    BatchNorm statistics are re-estimated on training batches there and before export, so a
    short run does not ship its initial running statistics.
    """

    VAL_DOSES = (25.0, 100.0)

    @property
    def schedule_kind(self) -> str:
        return "steps" if self.spec.config == "paper" else "cosine"

    def load_data(self) -> None:
        clean = self.volumes("clean")
        self._volumes_by_role = {"clean": clean}
        self.data = clean
        self.noise = NoiseModel.from_spec(self.spec)
        self.means = [v.data.mean(axis=(1, 2), dtype=np.float64) for v in clean]
        self.train_slices, self.val_slices = self.splits(self.data)
        self.bn_frozen = False

    def build(self) -> None:
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=self.spec.lr,
                                                     betas=xception.ADAM_BETAS,
                                                     weight_decay=xception.WEIGHT_DECAY)}

    def recipe(self) -> str:
        return "supervised: clean crops with synthetic Poisson noise, per-crop min-max scaling"

    def noise_condition(self) -> str:
        return self.noise.describe()

    def dose_range(self) -> list | None:
        return self.synthetic_dose_range()

    def _pairs(self, slices, count: int, rng: np.random.Generator, doses=None) -> np.ndarray:
        """(B, 2, P, P): min-max scaled noisy crop and the clean crop under the same map."""
        out = np.empty((count, 2, self.spec.crop, self.spec.crop), np.float32)
        for b in range(count):
            v = int(rng.integers(0, len(self.data)))
            z = slices[v][int(rng.integers(0, len(slices[v])))]
            clean = sample_crops([self.data[v]], [range(z, z + 1)], self.spec.crop, 1, rng)[0, 0]
            level = ("poisson", doses[b % len(doses)]) if doses else self.noise.draw(rng)
            noisy = self.noise.apply(clean, self.means[v][z], level, rng)
            lo, span = float(noisy.min()), max(float(noisy.max() - noisy.min()), 1e-6)
            out[b, 0], out[b, 1] = (noisy - lo) / span, (clean - lo) / span
        return out

    def fixed_val_batch(self) -> np.ndarray:
        return self._pairs(self.val_slices, VAL_CROPS, np.random.default_rng(VAL_SEED), list(self.VAL_DOSES))

    @torch.no_grad()
    def recalibrate_bn(self, step: int) -> None:
        """Re-estimate every BatchNorm's running mean and variance on fresh training batches."""
        bns = _bn_modules(self.model)
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        self.model.train()
        for k in range(BN_CALIBRATION_BATCHES):
            rng = np.random.default_rng([self.spec.seed, step, k, 7])
            self.model(self.tensor(self._pairs(self.train_slices, self.spec.batch_size, rng)[:, 0:1]))
        for bn, m in zip(bns, momenta):
            bn.momentum = m
        self.train_mode()

    def train_mode(self) -> None:
        self.model.train()
        if self.bn_frozen:
            for bn in _bn_modules(self.model):
                bn.eval()

    def sample(self, step: int, rng: np.random.Generator) -> np.ndarray:
        return self._pairs(self.train_slices, self.spec.batch_size, rng)

    def learn(self, step: int, pairs: np.ndarray, rng: np.random.Generator) -> dict:
        if not self.bn_frozen and self.schedule.freeze_step() is not None and step >= self.schedule.freeze_step():
            self.recalibrate_bn(step)
            self.bn_frozen = True
            self.train_mode()
        with self.autocast():
            pred = self.model(self.tensor(pairs[:, 0:1]))
        loss = xception.huberised_mse(pred.float(), self.tensor(pairs[:, 1:2]))
        self.optimise(loss, "model")
        return {"loss": loss.detach()}

    def before_export(self) -> None:
        if not self.bn_frozen:
            self.recalibrate_bn(self.spec.steps)

    def val_losses(self) -> dict:
        noisy, clean = self.val_batch[:, 0:1], self.val_batch[:, 1:2]
        pred = np.clip(self.model(self.tensor(noisy)).float().cpu().numpy(), 0, 1)
        loss = xception.huberised_mse(torch.from_numpy(pred), torch.from_numpy(np.ascontiguousarray(clean)))
        # PSNR on the normalised crops: the same affine map for all, so the ranking is exact
        return {"val_loss": float(loss), **self.held_back_psnr(np.clip(clean[:, 0], 0, 1), noisy[:, 0], pred[:, 0])}

    def denoise_crop(self, batch):
        out = self.model(self.tensor(batch[:, 0:1])).float().cpu().numpy()[0, 0]
        return batch[0, 0], np.clip(out, 0, 1)

    def extra_state(self) -> dict:
        return {"bn_frozen": self.bn_frozen}

    def load_extra_state(self, state: dict) -> None:
        self.bn_frozen = bool(state.get("bn_frozen", False))
        self.train_mode()
