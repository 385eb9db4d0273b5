"""One trainer per model family behind one interface (see :class:`BaseTrainer`).

Data arrive on the [0, 1] working scale (``training.data``) and are mapped to
each family's input normalisation, which is stored in the model card so that
inference repeats it exactly.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from pathlib import Path

import numpy as np
import torch

from emdenoise_gui.core import metrics, noise
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models import cyclic, n2v, nrrn, xception
from emdenoise_gui.models.blocks import count_parameters
from emdenoise_gui.models.registry import family
from emdenoise_gui.training.data import Volume, describe, load_volume, sample_crops, split_slices
from emdenoise_gui.training.spec import RunSpec
from emdenoise_gui.zoo.card import ModelCard
from emdenoise_gui.zoo.package import write_package

VAL_SEED = 12345  # fixed validation crops and noise, the same at every validation
VAL_CROPS = 8


class BaseTrainer:
    """Builds the model and its optimisers; a step, validation, preview, state and export.

    Subclasses set ``self.model`` and ``self.optimizers`` (name -> optimizer) in
    ``build``, and implement ``train_step``, ``val_losses`` and ``denoise_crop``.
    """

    input_depth = 1

    def __init__(self, spec: RunSpec, device: torch.device):
        self.spec, self.device = spec, device
        self.info = family(spec.family)
        self.architecture = dict(self.info.configs[spec.config])
        self.normalisation = {"kind": self.info.normalisation}
        self.load_data()
        self.model = self.info.build(**self.architecture).to(device)
        self.build()
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, self.lr_factor)
                           for name, opt in self.optimizers.items()}
        self.amp_dtype = None
        if device.type == "cuda" and spec.amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.val_batch = self.fixed_val_batch()

    # -- data ---------------------------------------------------------------------------------
    def volumes(self, role: str) -> list[Volume]:
        return [load_volume(s, self.spec.crop) for s in self.spec.data[role]]

    def load_data(self) -> None:
        raise NotImplementedError

    def splits(self, volumes: list[Volume], depth: int = 1):
        train, val = [], []
        for v in volumes:
            if v.depth < depth:
                raise InputError(f"has {v.depth} slice(s); {self.spec.family} needs at least {depth} adjacent "
                                 "slices (or repeat scans)", v.source)
            t, s = split_slices(v.depth, self.spec.val_fraction, depth)
            train.append(t)
            val.append(s)
        return train, val

    def fixed_val_batch(self) -> np.ndarray:
        raise NotImplementedError

    # -- steps ---------------------------------------------------------------------------------
    def lr_factor(self, step: int) -> float:
        """Learning-rate multiplier at ``step``: constant (subclasses may decay)."""
        return 1.0

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(self.device)

    def optimise(self, loss: torch.Tensor, name: str) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()
        self.schedulers[name].step()

    def lr(self) -> float:
        return float(next(iter(self.optimizers.values())).param_groups[0]["lr"])

    def parameter_count(self) -> int:
        return count_parameters(self.model)

    # -- validation and preview ----------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict:
        self.model.eval()
        try:
            return self.val_losses()
        finally:
            self.model.train()

    @torch.no_grad()
    def preview(self) -> tuple[np.ndarray, np.ndarray]:
        """(noisy, denoised) (H, W) float32 on [0, 1] for the first validation crop."""
        self.model.eval()
        try:
            noisy, denoised = self.denoise_crop(self.val_batch[:1])
        finally:
            self.model.train()
        return noisy.astype(np.float32), denoised.astype(np.float32)

    # -- state and export ------------------------------------------------------------------------
    def state(self) -> dict:
        return {"model": self.model.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
                "scaler": self.scaler.state_dict(), "extra": self.extra_state()}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.load_extra_state(state.get("extra") or {})

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def export(self, output: Path, steps: int):
        """Write the model package to ``output`` with a filled-in card."""
        metrics_now = {k: round(float(v), 6) for k, v in self.validate().items()}
        voxels = [v.voxel_size_nm[2] for role in self.spec.data for v in self._volumes_by_role.get(role, [])
                  if v.voxel_size_nm]
        card = ModelCard(
            name=self.spec.name or Path(output).name.removesuffix(".zip"),
            family=self.spec.family, config=self.spec.config, architecture=self.architecture,
            normalisation=self.normalisation, weights_sha256="0" * 64,
            parameters=count_parameters(self.model), description=self.info.purpose,
            training_data="; ".join(f"{role}: {describe(vs)}" for role, vs in self._volumes_by_role.items()),
            noise_condition=self.noise_condition(), steps=steps, training_crop=self.spec.crop, metrics=metrics_now,
            pixel_size_nm=[min(voxels), max(voxels)] if voxels else None,
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        )
        return write_package(Path(output), card, self.model.state_dict())

    def noise_condition(self) -> str:
        return "as in the noisy training data"


def _zscore_slices(volume: Volume) -> np.ndarray:
    mean = volume.data.mean(axis=(1, 2), keepdims=True)
    std = volume.data.std(axis=(1, 2), keepdims=True)
    return ((volume.data - mean) / np.maximum(std, 1e-6)).astype(np.float32)


class NRRNTrainer(BaseTrainer):
    """Consensus Noise2Noise on triplets of adjacent slices (or repeat scans)."""

    input_depth = 3

    def load_data(self) -> None:
        noisy = self.volumes("noisy")
        self._volumes_by_role = {"noisy": noisy}
        self.data = [Volume(_zscore_slices(v), v.source, v.voxel_size_nm) for v in noisy]
        self.train_slices, self.val_slices = self.splits(self.data, depth=3)

    def build(self) -> None:
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=self.spec.lr,
                                                     betas=(0.9, 0.999), eps=1e-8)}

    def fixed_val_batch(self) -> np.ndarray:
        rng = np.random.default_rng(VAL_SEED)
        return sample_crops(self.data, self.val_slices, self.spec.crop, VAL_CROPS, rng, depth=3)

    def _loss(self, batch: np.ndarray) -> torch.Tensor:
        t = self.tensor(batch)
        prev, centre, nxt = t[:, 0:1], t[:, 1:2], t[:, 2:3]
        with self.autocast():
            _, x1, x2 = self.model(prev, centre, nxt)
            return nrrn.consensus_loss(x1.float(), x2.float(), prev, nxt)

    def train_step(self, step: int, rng: np.random.Generator) -> dict:
        batch = sample_crops(self.data, self.train_slices, self.spec.crop, self.spec.batch_size, rng, depth=3)
        loss = self._loss(batch)
        self.optimise(loss, "model")
        return {"loss": float(loss.detach())}

    def val_losses(self) -> dict:
        return {"val_loss": float(self._loss(self.val_batch))}

    def denoise_crop(self, batch):
        out = self.model.denoise(self.tensor(batch)).float().cpu().numpy()[0, 0]
        centre = batch[0, 1]
        lo, hi = np.percentile(centre, [0.5, 99.5])
        span = max(hi - lo, 1e-6)
        return np.clip((centre - lo) / span, 0, 1), np.clip((out - lo) / span, 0, 1)


class N2VTrainer(BaseTrainer):
    """Noise2Void / N2V2 blind-spot training on the noisy images themselves."""

    def load_data(self) -> None:
        noisy = self.volumes("noisy")
        self._volumes_by_role = {"noisy": noisy}
        values = np.concatenate([v.data.ravel()[:: max(1, v.data.size // 1_000_000)] for v in noisy])
        self.mean, self.std = float(values.mean()), float(max(values.std(), 1e-6))
        self.normalisation = {"kind": "zscore-dataset", "mean": self.mean, "std": self.std}
        self.data = [Volume(((v.data - self.mean) / self.std).astype(np.float32), v.source, v.voxel_size_nm)
                     for v in noisy]
        self.train_slices, self.val_slices = self.splits(self.data)
        self.fraction = 0.002 if self.spec.config == "paper" else 0.015

    def build(self) -> None:
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=self.spec.lr)}

    def fixed_val_batch(self) -> np.ndarray:
        return sample_crops(self.data, self.val_slices, self.spec.crop, VAL_CROPS, np.random.default_rng(VAL_SEED))

    def _loss(self, batch: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        target = self.tensor(batch)
        masked, mask = n2v.n2v_mask(target, rng, fraction=self.fraction, strategy="median")
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
        return batch[0, 0] * self.std + self.mean, out * self.std + self.mean


class XceptionTrainer(BaseTrainer):
    """Supervised training on clean crops with synthetic Poisson noise at doses in ``spec.dose``."""

    def load_data(self) -> None:
        clean = self.volumes("clean")
        self._volumes_by_role = {"clean": clean}
        self.data = clean
        self.train_slices, self.val_slices = self.splits(self.data)

    def build(self) -> None:
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=self.spec.lr,
                                                     betas=xception.ADAM_BETAS,
                                                     weight_decay=xception.WEIGHT_DECAY)}

    def noise_condition(self) -> str:
        return f"Poisson, {self.spec.dose[0]:g}-{self.spec.dose[1]:g} counts per pixel at the mean"

    def _noisy(self, clean: np.ndarray, rng: np.random.Generator, dose: float | None = None) -> np.ndarray:
        out = np.empty_like(clean)
        for b in range(clean.shape[0]):
            d = dose if dose is not None else float(rng.uniform(*self.spec.dose))
            image = np.maximum(clean[b, 0], 0.0)  # the working scale may dip below 0 outside its sampled range
            out[b, 0] = noise.poisson_dose(image, d, rng) if image.mean() > 0 else clean[b, 0]
        return out

    def fixed_val_batch(self) -> np.ndarray:
        rng = np.random.default_rng(VAL_SEED)
        clean = sample_crops(self.data, self.val_slices, self.spec.crop, VAL_CROPS, rng)
        dose = float(np.sqrt(self.spec.dose[0] * self.spec.dose[1]))
        return np.concatenate([self._noisy(clean, rng, dose), clean], axis=1)  # (B, 2, P, P)

    def train_step(self, step: int, rng: np.random.Generator) -> dict:
        clean = sample_crops(self.data, self.train_slices, self.spec.crop, self.spec.batch_size, rng)
        noisy = self._noisy(clean, rng)
        with self.autocast():
            pred = self.model(self.tensor(noisy))
        loss = xception.huberised_mse(pred.float(), self.tensor(clean))
        self.optimise(loss, "model")
        return {"loss": float(loss.detach())}

    def val_losses(self) -> dict:
        noisy, clean = self.val_batch[:, 0:1], self.val_batch[:, 1:2]
        pred = self.model(self.tensor(noisy)).float().cpu().numpy()
        psnr = [metrics.psnr(np.clip(c[0], 0, 1), np.clip(p[0], 0, 1)) for c, p in zip(clean, pred)]
        before = [metrics.psnr(np.clip(c[0], 0, 1), np.clip(n[0], 0, 1)) for c, n in zip(clean, noisy)]
        loss = xception.huberised_mse(torch.from_numpy(pred), torch.from_numpy(np.ascontiguousarray(clean)))
        return {"val_loss": float(loss), "val_psnr_db": float(np.mean(psnr)), "input_psnr_db": float(np.mean(before))}

    def denoise_crop(self, batch):
        out = self.model(self.tensor(batch[:, 0:1])).float().cpu().numpy()[0, 0]
        return batch[0, 0], np.clip(out, 0, 1)


class CyclicTrainer(BaseTrainer):
    """Asymmetric cyclic GAN on unpaired clean, noise-pattern and noisy crops (inputs on [-1, 1])."""

    def load_data(self) -> None:
        self._volumes_by_role = {role: self.volumes(role) for role in ("clean", "noise", "noisy")}
        self.pools_data = {}
        for role, vols in self._volumes_by_role.items():
            scaled = [Volume(v.data * 2.0 - 1.0, v.source, v.voxel_size_nm) for v in vols]
            self.pools_data[role] = (scaled, *self.splits(scaled))

    def build(self) -> None:
        betas = (0.5, 0.999)
        self.optimizers = {
            "generators": torch.optim.Adam(self.model.generator_parameters(), lr=self.spec.lr, betas=betas),
            "discriminators": torch.optim.Adam(self.model.discriminator_parameters(), lr=self.spec.lr, betas=betas),
        }
        self.pools = {name: cyclic.ImagePool(50) for name in ("clean", "noise", "noisy")}

    def lr_factor(self, step: int) -> float:
        """Constant for the first half of the run, then linear decay to 0 (CycleGAN schedule)."""
        half = self.spec.steps / 2.0
        return 1.0 if step < half else max(0.0, 1.0 - (step - half) / (half + 1.0))

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
        return (noisy + 1) / 2, np.clip((out + 1) / 2, 0, 1)

    def extra_state(self) -> dict:
        return {k: pool.state() for k, pool in self.pools.items()}

    def load_extra_state(self, state: dict) -> None:
        for k, images in state.items():
            self.pools[k].load_state(images)


TRAINERS = {"cyclic": CyclicTrainer, "nrrn": NRRNTrainer, "xception": XceptionTrainer, "n2v": N2VTrainer}
