"""Cyclic generator G2 trained on clean slices with synthetic artifacts (``train cyclic --artifacts``).

The paper's cyclic GAN learns from three unpaired pools because real film and charging
artifacts have no formula. Where a formula stands in for them (``core.noise``: ``film``, a
smooth multiplicative pattern; ``charge``, smooth additive blobs plus Gaussian noise), the
upward cycle needs no learned synthesiser: each clean slice gets an artifact drawn by that
formula, is clipped and stored as 8-bit as a microscope would store it, and the denoiser
G2 is fitted to the pair directly. G2's two outputs are fitted as the paper's upward cycle
fits them: channel 0 to the clean slice, channel 1 to the artifact (noisy minus clean, on the
same scale), each by a mean absolute error. G1 and the discriminators are not trained. A new
run gives G2 a gated clean output (``models.cyclic``: its own clean channel blended with the input
less its artifact output; a fine-tuning run keeps its package's unless told); its own clean channel
is then fitted to the clean slice too, so it stays a denoiser by itself and the gate learns where
each is better.

With ``--shot-noise F`` a share F of the samples then gets shot noise (``training.synthetic.NoiseModel``,
at a dose from ``--dose``) on the stored artifact image, stored again as 8-bit: real film and charging
come with it, and a gated G2 learns to remove it instead of passing it through. The card records F and
the dose range; the wizard's fine-tuning runs take them over, a CLI ``--init`` run only when given.

The artifact is drawn on the whole slice (its blobs and pattern then have the test data's
scale whatever the crop), the slice is scaled by its own robust range (``robust-slice``, the
noisy slice's numbers, as inference computes them) and the clean slice by the same numbers,
then both are cropped and augmented alike.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from emdenoise_gui.core import noise
from emdenoise_gui.core.normalise import slice_params
from emdenoise_gui.training.data import crop
from emdenoise_gui.training.synthetic import NoiseModel, to_8bit_levels
from emdenoise_gui.training.trainers.base import VAL_CROPS, VAL_SEED
from emdenoise_gui.training.trainers.cyclic import CyclicTrainer


def stored_artifact(clean: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``clean`` (H, W) float32 on [0, 1] with the ``kind`` artifact at its default strength,
    clipped to [0, 1] and rounded to 256 levels (8-bit storage); float32 (H, W)."""
    image = noise.NOISE_KINDS[kind].function(clean, rng=rng)
    return to_8bit_levels(np.clip(image, 0.0, 1.0)).astype(np.float32)


class PairedCyclicTrainer(CyclicTrainer):
    """G2 of the cyclic network fitted to clean slices with synthetic artifacts (L1, both outputs)."""

    @property
    def artifacts(self) -> list[str]:
        return self.spec.artifacts.split(",")  # RunSpec.validated wrote them "film,charge"

    def load_data(self) -> None:
        self.noise = NoiseModel.from_spec(self.spec)
        volumes = self.volumes("clean")
        self._volumes_by_role = {"clean": volumes}
        self.data = volumes
        self.train_slices, self.val_slices = self.splits(volumes)

    def build(self) -> None:
        self.optimizers = {"generators": torch.optim.Adam(self.model.g2.parameters(), lr=self.spec.lr,
                                                          betas=(0.5, 0.999))}

    def recipe(self) -> str:
        outputs = ("the gated clean output, its own clean channel and the artifact output" if self.model.gated
                   else "the clean and the artifact output")
        return (f"paired: the generator G2 fitted to clean slices with synthetic artifacts (L1 on {outputs}); "
                "no GAN, G1 and the discriminators untrained")

    def training_facts(self) -> dict:
        facts = {"artifacts": ",".join(self.artifacts)}  # what tests/test_shipped_models.py noises the demo with
        if self.spec.shot_noise:  # what the wizard gives a run that fine-tunes this model (jobs.advise.wizard_spec)
            facts.update(shot_noise=self.spec.shot_noise, shot_noise_dose=list(self.spec.dose))
        return facts

    def description(self) -> str:
        kinds = [noise.NOISE_KINDS[k] for k in self.artifacts]
        return f"removes {' and '.join(f'{k.label} ({k.look})' for k in kinds)} artifacts, one image at a time"

    def dose_range(self) -> list | None:
        """The shot noise's counts per pixel at each crop's mean, when the run adds it (the card said null
        beside "shot noise at 15-300" in its noise text: training audit); None otherwise."""
        if not self.spec.shot_noise or self.noise.distribution != "log-uniform":
            return None
        return self.noise.dose_range(1.0)  # log-uniform doses are counts at the mean already: no scale to apply

    def noise_condition(self) -> str:
        text = ("synthetic " + " or ".join(f"{k} ({noise.NOISE_KINDS[k].description})" for k in self.artifacts)
                + ", each at its default strength, drawn on the whole slice; clipped and stored as 8-bit")
        if self.spec.shot_noise:
            text += f"; {self.spec.shot_noise:.0%} of samples then shot noise: {self.noise.describe()}"
        return text

    def _pairs(self, slices, count: int, rng: np.random.Generator, kinds=None) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (B, 1, P, P), targets (B, 2, P, P)) float32 on the noisy slices' [-1, 1] scale.

        targets[:, 0] is the clean crop, targets[:, 1] the artifact (input minus clean).
        ``kinds``: the artifact of each sample in turn (cycled); None draws them at random.
        """
        size = self.spec.crop
        inputs = np.empty((count, 1, size, size), np.float32)
        targets = np.empty((count, 2, size, size), np.float32)
        for b in range(count):
            v = int(rng.integers(0, len(self.data)))
            allowed = slices[v]
            z = allowed[int(rng.integers(0, len(allowed)))]
            clean = self.data[v].data[z]
            kind = kinds[b % len(kinds)] if kinds else self.artifacts[int(rng.integers(0, len(self.artifacts)))]
            noisy = stored_artifact(clean, kind, rng)
            if self.spec.shot_noise and rng.random() < self.spec.shot_noise:  # no draw without shot noise
                noisy = self.noise.apply(noisy, float(noisy.mean()), self.noise.draw(rng), rng)
            offset, scale = slice_params("robust-slice", noisy)
            pair = (np.stack([noisy, clean]) - offset) / scale
            patch = crop(pair, 0, size, rng, depth=2)
            inputs[b, 0] = patch[0]
            targets[b] = patch[1], patch[0] - patch[1]
        return inputs, targets

    def fixed_val_batch(self) -> np.ndarray:
        inputs, targets = self._pairs(self.val_slices, VAL_CROPS, np.random.default_rng(VAL_SEED), self.artifacts)
        return np.concatenate([inputs, targets], axis=1)  # (B, 3, P, P): noisy, clean, artifact

    def sample(self, step: int, rng: np.random.Generator):
        return self._pairs(self.train_slices, self.spec.batch_size, rng)

    def _loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self.autocast():
            out = self.model.separate(inputs).float()
        loss = F.l1_loss(out[:, 0:1], targets[:, 0:1]) + F.l1_loss(out[:, 1:2], targets[:, 1:2])
        if out.shape[1] == 3:  # gated: G2's own clean channel, a denoiser by itself
            loss = loss + F.l1_loss(out[:, 2:3], targets[:, 0:1])
        return loss, out

    def learn(self, step: int, batch, rng: np.random.Generator) -> dict:
        loss, _ = self._loss(self.tensor(batch[0]), self.tensor(batch[1]))
        self.optimise(loss, "generators")
        return {"loss": loss.detach()}

    def val_losses(self) -> dict:
        batch = self.tensor(self.val_batch)
        loss, out = self._loss(batch[:, 0:1], batch[:, 1:3])
        # PSNR on a common [0, 1] display of each crop: the clean crop's [-1, 1] scale mapped to [0, 1]
        clean = (self.val_batch[:, 1] + 1) / 2
        denoised = np.clip((out[:, 0].cpu().numpy() + 1) / 2, 0, 1)
        noisy = np.clip((self.val_batch[:, 0] + 1) / 2, 0, 1)
        return {"val_loss": float(loss), **self.held_back_psnr(clean, noisy, denoised)}

    def denoise_crop(self, batch):
        out = self.model.denoise(self.tensor(batch[:1, 0:1])).float().cpu().numpy()[0, 0]
        return np.clip((batch[0, 0] + 1) / 2, 0, 1), np.clip((out + 1) / 2, 0, 1)

    def extra_state(self) -> dict:
        return {}  # no image pools: nothing is adversarial

    def load_extra_state(self, state: dict) -> None:
        pass
