"""NRRN training, two ways.

* From a **noisy** stack (the paper's way, no clean data): the consensus Noise2Noise loss on
  triplets of adjacent slices or repeat scans.
* From a **noisy** stack with a blind spot (``objective="blind-spot"``, what ``--adapt nrrn``
  uses): a few pixels of the centre slice are replaced by the median of their 11x11
  neighbourhood and the output there is fitted to the noisy value, as in Noise2Void, while
  both neighbours stay intact. Unlike the consensus loss, whose optimum is the neighbours'
  (z-blurred) signal, its optimum is the centre slice's own signal.
* From a **clean** stack with synthetic noise (as NRRN's EPFL fine-tuning on synthetic Poisson
  and Gaussian noise, and the way the shipped FIB-SEM model is made): each triplet gets
  independent noise at one level drawn from ``spec.dose`` (and ``spec.sigma``), is stored as
  8-bit would be, and the averaged output is fitted to the clean centre slice. One sample in
  ten is a stack end, where inference reflects the stack and both neighbours are the same
  noisy slice, so the model learns that case too.

Every slice is z-scored by its own mean and std (``zscore-slice``); for synthetic noise those
are the noisy slice's, as inference computes them: estimated on a fixed sample of the centre
slice's pixels, and moved to each neighbour by the two slices' clean statistics
(``synthetic.moved_stats``: one draw per triplet instead of three).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.normalise import normalise_slices
from emdenoise_gui.models import n2v, nrrn
from emdenoise_gui.training.data import crop, run_start, sample_crops
from emdenoise_gui.training.synthetic import (
    NoiseModel,
    moved_stats,
    noisy_stats,
    stat_pixels,
)
from emdenoise_gui.training.trainers.base import (
    VAL_CROPS,
    VAL_SEED,
    BaseTrainer,
    display_pair,
)

#: Share of synthetic samples that imitate a stack end (both neighbours the same slice).
END_FRACTION = 0.1
#: Weight of each single branch's error next to the averaged output's (keeps the 1- and
#: 2-image modes of inference useful).
BRANCH_WEIGHT = 0.1
#: Share of centre-slice pixels masked per crop by the blind-spot objective.
BLIND_FRACTION = 0.01
#: Validation doses (counts per pixel at the mean), alternating over the validation crops.
VAL_DOSES = (25.0, 100.0)


class NRRNTrainer(BaseTrainer):
    """Consensus Noise2Noise on noisy triplets, or supervised on clean triplets with synthetic noise."""

    input_depth = 3

    def load_data(self) -> None:
        self.supervised = bool(self.spec.data.get("clean"))
        role = "clean" if self.supervised else "noisy"
        volumes = self.volumes(role)
        self._volumes_by_role = {role: volumes}
        if self.supervised:
            self.noise = NoiseModel.from_spec(self.spec)
            self.data = volumes
            rng = np.random.default_rng(VAL_SEED)
            self.means = [v.data.mean(axis=(1, 2), dtype=np.float64) for v in volumes]
            self.pixels = [stat_pixels(v.data, rng) for v in volumes]
            # (Z, 2) float64 clean (mean, std) of each slice's sampled pixels, to move the centre's noisy stats
            self.clean_stats = [np.stack([p.mean(1, dtype=np.float64), p.std(1, dtype=np.float64)], 1)
                                for p in self.pixels]
        else:
            self.data = [replace(v, data=normalise_slices("zscore-slice", v.data))
                         for v in volumes]
        self.train_slices, self.val_slices = self.splits(self.data, depth=3)

    def build(self) -> None:
        if self.mean_neighbours and not self.supervised and self.objective == "consensus":
            raise InputError("the consensus loss needs the paper's two-branch NRRN (each branch fitted to the "
                             "other neighbour); train this one on clean data or with --objective blind-spot")
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=self.spec.lr,
                                                     betas=(0.9, 0.999), eps=1e-8)}

    @property
    def self_supervised(self) -> bool:
        return not self.supervised

    def infer(self, batch: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
        return (self.model if model is None else model).denoise(batch)

    @property
    def mean_neighbours(self) -> bool:
        """One branch on the neighbours' mean (``models.nrrn`` neighbours="mean") instead of the paper's two."""
        return self.architecture.get("neighbours") == "mean"

    @property
    def objective(self) -> str:
        """The self-supervised loss (``RunSpec.nrrn_objective``)."""
        return self.spec.nrrn_objective(self.architecture.get("neighbours", "pair"))

    def recipe(self) -> str:
        if self.supervised:
            output = "one branch on the neighbours' mean" if self.mean_neighbours else "averaged output"
            return f"supervised: clean slices with synthetic noise, {output} fitted to the clean centre"
        if self.objective == "blind-spot":
            return "self-supervised: blind spot in the centre slice (N2V-style), both neighbours intact"
        return "self-supervised: consensus Noise2Noise on adjacent-slice triplets"

    def noise_condition(self) -> str:
        return self.noise.describe() if self.supervised else super().noise_condition()

    def dose_range(self) -> list | None:
        return self.synthetic_dose_range() if self.supervised else None

    # -- synthetic triplets -----------------------------------------------------------------------
    def _synthetic(self, slices, count: int, rng: np.random.Generator, levels=None, ends: bool = True):
        """(inputs (B, 3, P, P) z-scored, target (B, 1, P, P) z-scored, clean (B, P, P), stats (B, 2))."""
        size = self.spec.crop
        inputs = np.empty((count, 3, size, size), np.float32)
        target = np.empty((count, 1, size, size), np.float32)
        clean = np.empty((count, size, size), np.float32)
        stats = np.empty((count, 2), np.float64)
        for b in range(count):
            v = int(rng.integers(0, len(self.data)))
            z = run_start(self.data[v], slices[v], 3, rng)
            patch = crop(self.data[v].data, z, size, rng, depth=3)
            level = levels[b % len(levels)] if levels else self.noise.draw(rng)
            end = ends and rng.random() < END_FRACTION
            noisy = [None, None, None]
            centre = noisy_stats(self.noise, self.pixels[v][z + 1], self.means[v][z + 1], level, rng)
            for k in (1, 2) if end else (0, 1, 2):  # a stack end: the same noisy neighbour twice
                zk = z + k
                image = self.noise.apply(patch[k], self.means[v][zk], level, rng)
                m, s = centre if k == 1 else moved_stats(centre, self.clean_stats[v][z + 1], self.clean_stats[v][zk])
                noisy[k] = ((image - m) / s, m, s)
            if end:
                noisy[0] = noisy[2]
            for k in range(3):
                inputs[b, k] = noisy[k][0]
            m, s = noisy[1][1], noisy[1][2]
            target[b, 0] = (patch[1] - m) / s
            clean[b], stats[b] = patch[1], (m, s)
        return inputs, target, clean, stats

    def fixed_val_batch(self) -> np.ndarray:
        rng = np.random.default_rng(VAL_SEED)
        if not self.supervised:
            return sample_crops(self.data, self.val_slices, self.spec.crop, VAL_CROPS, rng, depth=3)
        levels = [("poisson", d) for d in VAL_DOSES]
        inputs, target, clean, self.val_stats = self._synthetic(self.val_slices, VAL_CROPS, rng, levels, ends=False)
        return np.concatenate([inputs, target, clean[:, None]], axis=1)  # (B, 5, P, P)

    # -- steps ----------------------------------------------------------------------------------
    def _blind_spot(self, batch: np.ndarray, rng: np.random.Generator, bar: bool = False):
        """The blind-spot loss of the centre slices of ``batch`` (B, 3, H, W); with ``bar``, (it, the same
        loss of the mean of each hidden pixel's 8 neighbours and its 2 in the neighbouring slices)."""
        t = self.tensor(batch)
        centre = t[:, 1:2]
        masked, mask = n2v.n2v_mask(centre, rng, fraction=BLIND_FRACTION, strategy="median")
        with self.autocast():
            out, _, _ = self.model(t[:, 0:1], masked, t[:, 2:3])
        loss = n2v.n2v_loss(out.float(), centre, mask)
        return (loss, n2v.neighbour_mean_loss(centre, mask, t[:, 0::2])) if bar else loss

    def _self_supervised(self, batch: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        if self.objective == "blind-spot":
            return self._blind_spot(batch, rng)
        return self._consensus(batch)

    def _consensus(self, batch: np.ndarray) -> torch.Tensor:
        t = self.tensor(batch)
        prev, centre, nxt = t[:, 0:1], t[:, 1:2], t[:, 2:3]
        with self.autocast():
            _, x1, x2 = self.model(prev, centre, nxt)
            return nrrn.consensus_loss(x1.float(), x2.float(), prev, nxt)

    def _supervised(self, inputs: np.ndarray, target: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        t, y = self.tensor(inputs), self.tensor(target)
        with self.autocast():
            out, x1, x2 = self.model(t[:, 0:1], t[:, 1:2], t[:, 2:3])
        out = out.float()
        loss = F.mse_loss(out, y) + BRANCH_WEIGHT * (F.mse_loss(x1.float(), y) + F.mse_loss(x2.float(), y))
        return loss, out

    def sample(self, step: int, rng: np.random.Generator):
        if self.supervised:
            inputs, target, _, _ = self._synthetic(self.train_slices, self.spec.batch_size, rng)
            return inputs, target
        return sample_crops(self.data, self.train_slices, self.spec.crop, self.spec.batch_size, rng, depth=3)

    def learn(self, step: int, batch, rng: np.random.Generator) -> dict:
        if self.supervised:
            loss, _ = self._supervised(*batch)
        else:
            loss = self._self_supervised(batch, rng)
        self.optimise(loss, "model")
        return {"loss": loss.detach()}

    def val_losses(self) -> dict:
        if not self.supervised and self.objective == "blind-spot":  # with the bar a model must beat (n2v's)
            loss, bar = self._blind_spot(self.val_batch, np.random.default_rng(VAL_SEED), bar=True)
            return {"val_loss": float(loss), "filter_val_loss": float(bar)}
        if not self.supervised:
            return {"val_loss": float(self._self_supervised(self.val_batch, np.random.default_rng(VAL_SEED)))}
        loss, out = self._supervised(self.val_batch[:, :3], self.val_batch[:, 3:4])
        m, s = self.val_stats[:, 0, None, None], self.val_stats[:, 1, None, None]
        denoised = np.clip(out.cpu().numpy()[:, 0] * s + m, 0, 1)
        neighbours = np.clip(self.val_batch[:, :3] * s[:, None] + m[:, None], 0, 1)
        return {"val_loss": float(loss), **self.held_back_psnr(self.val_batch[:, 4], neighbours[:, 1], denoised,
                                                               neighbours)}

    def denoise_crop(self, batch):
        out = self.infer(self.tensor(batch[:, :3])).float().cpu().numpy()[0, 0]
        centre = batch[0, 1]
        if self.supervised:
            m, s = self.val_stats[0]
            return np.clip(centre * s + m, 0, 1), np.clip(out * s + m, 0, 1)
        return display_pair(centre, out)
