"""Cyclic GAN training: unpaired clean, noise-pattern and noisy pools."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.normalise import normalise_slices
from emdenoise_gui.models import cyclic
from emdenoise_gui.training.data import sample_crops
from emdenoise_gui.training.trainers.base import VAL_CROPS, VAL_SEED, BaseTrainer


class CyclicTrainer(BaseTrainer):
    """Asymmetric cyclic GAN on unpaired clean, noise-pattern and noisy crops.

    Every slice of every pool is mapped by its own robust range to [-1, 1] (``robust-slice``),
    which the tanh outputs can reach; the rate decays linearly from the first step.
    """

    schedule_kind = "linear"

    def __new__(cls, spec, device, resumed_init=None):
        """A run with synthetic ``--artifacts`` and clean data only trains G2 on pairs instead."""
        if cls is CyclicTrainer and spec.artifacts:
            from emdenoise_gui.training.trainers.cyclic_paired import (
                PairedCyclicTrainer,
            )
            return super().__new__(PairedCyclicTrainer)
        return super().__new__(cls)

    def load_data(self) -> None:
        self._volumes_by_role = {role: self.volumes(role) for role in ("clean", "noise", "noisy")}
        self.pools_data = {}
        for role, vols in self._volumes_by_role.items():
            scaled = [replace(v, data=normalise_slices("robust-slice", v.data)) for v in vols]
            self.pools_data[role] = (scaled, *self.splits(scaled))

    def fitted_init(self, weights: dict) -> dict:
        """A direct package fine-tuned into a gated model gets its gate row (``CyclicGAN.with_gate_rows``);
        a gated one cannot become direct (its clean output needs the gate)."""
        head = weights.get(self.model.head_key())
        if head is not None and head.shape[0] == 3 and not self.model.gated:
            raise InputError("has a gated clean output; fine-tune it with --clean-output gated (or leave the "
                             "option out), or train a new direct model", self.spec.init)
        return self.model.with_gate_rows(weights)

    def build(self) -> None:
        betas = (0.5, 0.999)
        self.optimizers = {
            "generators": torch.optim.Adam(self.model.generator_parameters(), lr=self.spec.lr, betas=betas),
            "discriminators": torch.optim.Adam(self.model.discriminator_parameters(), lr=self.spec.lr, betas=betas),
        }
        self.pools = {name: cyclic.ImagePool(50) for name in ("clean", "noise", "noisy")}

    def recipe(self) -> str:
        return "unpaired: cycle-consistent GAN on clean, noise-pattern and noisy pools"

    def _crops(self, rng, batch: int, train: bool = True) -> list[np.ndarray]:
        out = []
        for role in ("clean", "noise", "noisy"):
            vols, train_slices, val_slices = self.pools_data[role]
            out.append(sample_crops(vols, train_slices if train else val_slices, self.spec.crop, batch, rng))
        return out

    def fixed_val_batch(self) -> np.ndarray:
        return np.concatenate(self._crops(np.random.default_rng(VAL_SEED), VAL_CROPS, train=False), axis=1)

    def sample(self, step: int, rng: np.random.Generator) -> list[np.ndarray]:
        return self._crops(rng, self.spec.batch_size)

    def learn(self, step: int, batch: list[np.ndarray], rng: np.random.Generator) -> dict:
        clean, noise_p, noisy = (self.tensor(a) for a in batch)
        model = self.model
        model.set_discriminators_trainable(False)
        with self.autocast():
            out = model.cycles(clean, noise_p, noisy)
            g_total, parts = cyclic.generator_loss(model, out, self.spec.gan_mode, 10.0)
        self.optimise(g_total, "generators")
        model.set_discriminators_trainable(True)
        fakes = {"clean": out["fake_clean"], "noise": out["fake_noise"], "noisy": out["fake_noisy"]}
        reals = {"clean": clean, "noise": noise_p, "noisy": noisy}
        discs = {"clean": model.d_c, "noise": model.d_n, "noisy": model.d_i}
        with self.autocast():
            d_losses = {k: cyclic.discriminator_loss(discs[k], reals[k], self.pools[k].query(fakes[k].float(), rng),
                                                     self.spec.gan_mode) for k in discs}
            d_total = sum(d_losses.values())
        self.optimise(d_total, "discriminators")
        parts.update({f"d_{k}": v.detach() for k, v in d_losses.items()})
        parts["loss"] = g_total.detach()
        return parts

    def val_losses(self) -> dict:
        batch = self.tensor(self.val_batch)
        out = self.model.cycles(batch[:, 0:1], batch[:, 1:2], batch[:, 2:3])
        cyc = cyclic.cycle_loss(out, out["clean"], out["noise"], out["noisy"])
        return {"val_loss": float(cyc)}

    def denoise_crop(self, batch):
        noisy = batch[0, 2]
        out = self.model.denoise(self.tensor(batch[:1, 2:3])).float().cpu().numpy()[0, 0]
        return np.clip((noisy + 1) / 2, 0, 1), np.clip((out + 1) / 2, 0, 1)

    def extra_state(self) -> dict:
        return {k: pool.state() for k, pool in self.pools.items()}

    def load_extra_state(self, state: dict) -> None:
        for k, images in state.items():
            self.pools[k].load_state(images)
