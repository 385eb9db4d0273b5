"""The trainers of N2V, Xception and the cyclic GAN, and the map from family to trainer.

Shared machinery (schedules, best model, state, export) is in ``training.trainer_base``;
NRRN's two ways of training are in ``training.nrrn_trainer``.
"""

from __future__ import annotations

import numpy as np
import torch

from emdenoise_gui.core import metrics
from emdenoise_gui.core.normalise import normalise_slices
from emdenoise_gui.models import cyclic, n2v, xception
from emdenoise_gui.training.data import Volume, sample_crops
from emdenoise_gui.training.nrrn_trainer import NRRNTrainer
from emdenoise_gui.training.synthetic import NoiseModel
from emdenoise_gui.training.trainer_base import VAL_CROPS, VAL_SEED, BaseTrainer, display_pair

#: Batches used to re-estimate BatchNorm statistics before xception's BN is frozen or exported.
BN_CALIBRATION_BATCHES = 16


class N2VTrainer(BaseTrainer):
    """Noise2Void (uniform replacement) or N2V2 (median replacement, no top skip, blur-pool).

    Masks ``MASK_FRACTION`` of the pixels as CAREamics does (0.2 %); every slice is z-scored
    by its own statistics (``zscore-slice``).
    """

    MASK_FRACTION = 0.002

    def load_data(self) -> None:
        noisy = self.volumes("noisy")
        self._volumes_by_role = {"noisy": noisy}
        self.data = [Volume(normalise_slices("zscore-slice", v.data), v.source, v.voxel_size_nm) for v in noisy]
        self.train_slices, self.val_slices = self.splits(self.data)
        self.strategy = "median" if self.architecture.get("n2v2", True) else "uniform"

    def build(self) -> None:
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=self.spec.lr)}

    def fixed_val_batch(self) -> np.ndarray:
        return sample_crops(self.data, self.val_slices, self.spec.crop, VAL_CROPS, np.random.default_rng(VAL_SEED))

    def _loss(self, batch: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        target = self.tensor(batch)
        masked, mask = n2v.n2v_mask(target, rng, fraction=self.MASK_FRACTION, strategy=self.strategy)
        with self.autocast():
            pred = self.model(masked)
        return n2v.n2v_loss(pred.float(), target, mask)

    def train_step(self, step: int, rng: np.random.Generator) -> dict:
        batch = sample_crops(self.data, self.train_slices, self.spec.crop, self.spec.batch_size, rng)
        loss = self._loss(batch, rng)
        self.optimise(loss, "model")
        return {"loss": float(loss.detach())}

    def val_losses(self) -> dict:
        return {"val_loss": float(self._loss(self.val_batch, np.random.default_rng(VAL_SEED)))}

    def denoise_crop(self, batch):
        out = self.model(self.tensor(batch)).float().cpu().numpy()[0, 0]
        return display_pair(batch[0, 0], out)

    def recipe(self) -> str:
        return f"self-supervised: {'N2V2' if self.strategy == 'median' else 'N2V'} blind-spot masking"


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

    def dose_range(self) -> list:
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

    def train_step(self, step: int, rng: np.random.Generator) -> dict:
        if not self.bn_frozen and self.schedule.freeze_step() is not None and step >= self.schedule.freeze_step():
            self.recalibrate_bn(step)
            self.bn_frozen = True
            self.train_mode()
        pairs = self._pairs(self.train_slices, self.spec.batch_size, rng)
        with self.autocast():
            pred = self.model(self.tensor(pairs[:, 0:1]))
        loss = xception.huberised_mse(pred.float(), self.tensor(pairs[:, 1:2]))
        self.optimise(loss, "model")
        return {"loss": float(loss.detach())}

    def before_export(self) -> None:
        if not self.bn_frozen:
            self.recalibrate_bn(self.spec.steps)

    def val_losses(self) -> dict:
        noisy, clean = self.val_batch[:, 0:1], self.val_batch[:, 1:2]
        pred = np.clip(self.model(self.tensor(noisy)).float().cpu().numpy(), 0, 1)
        # PSNR on the normalised crops: the same affine map for all three, so the ranking is exact
        psnr = [metrics.psnr(np.clip(c[0], 0, 1), p[0]) for c, p in zip(clean, pred)]
        before = [metrics.psnr(np.clip(c[0], 0, 1), n[0]) for c, n in zip(clean, noisy)]
        loss = xception.huberised_mse(torch.from_numpy(pred), torch.from_numpy(np.ascontiguousarray(clean)))
        return {"val_loss": float(loss), "val_psnr_db": float(np.mean(psnr)), "input_psnr_db": float(np.mean(before))}

    def denoise_crop(self, batch):
        out = self.model(self.tensor(batch[:, 0:1])).float().cpu().numpy()[0, 0]
        return batch[0, 0], np.clip(out, 0, 1)

    def extra_state(self) -> dict:
        return {"bn_frozen": self.bn_frozen}

    def load_extra_state(self, state: dict) -> None:
        self.bn_frozen = bool(state.get("bn_frozen", False))
        self.train_mode()


class CyclicTrainer(BaseTrainer):
    """Asymmetric cyclic GAN on unpaired clean, noise-pattern and noisy crops.

    Every slice of every pool is mapped by its own robust range to [-1, 1] (``robust-slice``),
    which the tanh outputs can reach; the rate decays linearly from the first step.
    """

    schedule_kind = "linear"

    def load_data(self) -> None:
        self._volumes_by_role = {role: self.volumes(role) for role in ("clean", "noise", "noisy")}
        self.pools_data = {}
        for role, vols in self._volumes_by_role.items():
            scaled = [Volume(normalise_slices("robust-slice", v.data), v.source, v.voxel_size_nm) for v in vols]
            self.pools_data[role] = (scaled, *self.splits(scaled))

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

    def train_step(self, step: int, rng: np.random.Generator) -> dict:
        clean, noise_p, noisy = (self.tensor(a) for a in self._crops(rng, self.spec.batch_size))
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
        parts.update({f"d_{k}": float(v.detach()) for k, v in d_losses.items()})
        parts["loss"] = float(g_total.detach())
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


TRAINERS = {"cyclic": CyclicTrainer, "nrrn": NRRNTrainer, "xception": XceptionTrainer, "n2v": N2VTrainer}
