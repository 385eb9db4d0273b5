"""Noise2Void / N2V2 training: blind-spot masking on the noisy images themselves."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from emdenoise_gui.core.normalise import normalise_slices
from emdenoise_gui.models import n2v
from emdenoise_gui.training.data import sample_crops
from emdenoise_gui.training.trainers.base import (
    VAL_CROPS,
    VAL_SEED,
    BaseTrainer,
    display_pair,
)


class N2VTrainer(BaseTrainer):
    """Noise2Void (uniform replacement) or N2V2 (median replacement, no top skip, blur-pool).

    Masks ``MASK_FRACTION`` of the pixels as CAREamics does (0.2 %); every slice is z-scored
    by its own statistics (``zscore-slice``).
    """

    MASK_FRACTION = 0.002
    self_supervised = True

    def load_data(self) -> None:
        noisy = self.volumes("noisy")
        self._volumes_by_role = {"noisy": noisy}
        self.data = [replace(v, data=normalise_slices("zscore-slice", v.data)) for v in noisy]
        self.train_slices, self.val_slices = self.splits(self.data)
        self.strategy = "median" if self.architecture.get("n2v2", True) else "uniform"

    def build(self) -> None:
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=self.spec.lr)}

    def fixed_val_batch(self) -> np.ndarray:
        return sample_crops(self.data, self.val_slices, self.spec.crop, VAL_CROPS, np.random.default_rng(VAL_SEED))

    def _loss(self, batch: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(blind-spot loss, the (B, 1, H, W) target, its mask) of ``batch``."""
        target = self.tensor(batch)
        masked, mask = n2v.n2v_mask(target, rng, fraction=self.MASK_FRACTION, strategy=self.strategy)
        with self.autocast():
            pred = self.model(masked)
        return n2v.n2v_loss(pred.float(), target, mask), target, mask

    def sample(self, step: int, rng: np.random.Generator) -> np.ndarray:
        return sample_crops(self.data, self.train_slices, self.spec.crop, self.spec.batch_size, rng)

    def learn(self, step: int, batch: np.ndarray, rng: np.random.Generator) -> dict:
        loss = self._loss(batch, rng)[0]
        self.optimise(loss, "model")
        return {"loss": loss.detach()}

    def val_losses(self) -> dict:
        """The blind-spot loss on the held-back crops, and that of the mean of each pixel's 8 neighbours on the
        same pixels (``filter_val_loss``: the bar a model must beat)."""
        loss, target, mask = self._loss(self.val_batch, np.random.default_rng(VAL_SEED))
        return {"val_loss": float(loss), "filter_val_loss": float(n2v.neighbour_mean_loss(target, mask))}

    def denoise_crop(self, batch):
        out = self.infer(self.tensor(batch)).float().cpu().numpy()[0, 0]
        return display_pair(batch[0, 0], out)

    def recipe(self) -> str:
        return f"self-supervised: {'N2V2' if self.strategy == 'median' else 'N2V'} blind-spot masking"
