"""What every family's trainer shares: model and optimisers, schedule, best model, state, export.

Data arrive on the [0, 1] working scale (``training.data``) and are mapped to each
family's input normalisation (``core.normalise``), which the card names so that
inference repeats it exactly. The trainers themselves are beside this module, one per family.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from pathlib import Path

import numpy as np
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.blocks import count_parameters
from emdenoise_gui.models.device import autocast_dtype, cpu_description, precision_name
from emdenoise_gui.models.registry import family
from emdenoise_gui.training.data import Volume, describe, load_volume, split_slices
from emdenoise_gui.training.held_back import (
    estimable,
    estimated_errors,
    held_back_stacks,
)
from emdenoise_gui.training.schedules import Schedule
from emdenoise_gui.training.spec import RunSpec
from emdenoise_gui.zoo.card import ModelCard
from emdenoise_gui.zoo.package import write_package

VAL_SEED = 12345  # fixed validation crops and noise, the same at every validation
VAL_CROPS = 8


def validation_score(metrics: dict) -> float:
    """Higher is better: validation PSNR (dB) where a clean reference exists, else -val_loss."""
    if "val_psnr_db" in metrics:
        return float(metrics["val_psnr_db"])
    return -float(metrics.get("val_loss", np.inf))


def display_pair(noisy: np.ndarray, denoised: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both (H, W) images on [0, 1] for a preview, stretched by the noisy one's 0.5-99.5 percentiles
    (z-scored crops have no natural display range)."""
    lo, hi = np.percentile(noisy, [0.5, 99.5])
    span = max(hi - lo, 1e-6)
    return np.clip((noisy - lo) / span, 0, 1), np.clip((denoised - lo) / span, 0, 1)


class BaseTrainer:
    """Builds the model and its optimisers; a step, validation, preview, state and export.

    Subclasses set ``self.optimizers`` (name -> optimizer) in ``build`` and implement
    ``load_data``, ``fixed_val_batch``, ``sample``, ``learn``, ``val_losses`` and ``denoise_crop``.
    A step is ``learn(step, sample(step, rng), rng)``: ``sample`` draws the step's data (numpy,
    reading only the loaded data, using ``rng`` first), so the engine runs it a step ahead on a
    background thread; ``learn`` goes on with the same ``rng`` (masks, image pools).
    ``schedule_kind`` names the learning-rate schedule (``training.schedules``).
    """

    input_depth = 1
    schedule_kind = "cosine"
    #: Trained without a clean reference: its card gets Stein's estimates of the error it leaves
    #: (:meth:`estimated_errors`) in place of PSNR.
    self_supervised = False

    def __init__(self, spec: RunSpec, device: torch.device, resumed_init: dict | None = None):
        """``resumed_init``: a resumed fine-tuning run's ``state()["init"]`` (the start model's architecture,
        normalisation and name, saved with the run): the start package is not opened again, so the run
        resumes after that model was deleted from the zoo (its weights are in the checkpoint)."""
        self.spec, self.device = spec, device
        self.info = family(spec.family)
        self.architecture = self.info.architecture(spec.config)
        self.normalisation = {"kind": self.info.normalisation}
        #: the start model of a fine-tuning run, "NAME (sha256 0123456789ab)", or None
        self.init_from: str | None = None
        init_weights = None
        if spec.init and resumed_init:
            self.architecture = dict(resumed_init["architecture"])
            self.normalisation = dict(resumed_init["normalisation"])
            self.init_from = resumed_init["from"]
        elif spec.init:  # a fresh run, or one saved before runs kept these facts (resumed_init == {})
            card, init_weights = self._init_package(spec.init, resuming=resumed_init is not None)
            self.init_from = f"{card.name} (sha256 {card.weights_sha256[:12]})"
        if spec.neighbours:  # an NRRN option that keeps the parameters: it also applies to an init package
            self.architecture["neighbours"] = spec.neighbours
        if spec.clean_output:  # a cyclic option that keeps the parameters too
            self.architecture["clean_output"] = spec.clean_output
        self.load_data()
        self.model = self.info.build(**self.architecture).to(device)
        if init_weights is not None:
            self.model.load_state_dict(self.fitted_init(init_weights))
        # channels-last on the CPU where it is faster (registry: train_channels_last); batches follow in tensor()
        self.memory_format = (torch.channels_last if self.info.train_channels_last and device.type == "cpu"
                              else torch.contiguous_format)
        self.model.to(memory_format=self.memory_format)
        self.build()
        self.schedule = Schedule(self.schedule_kind, spec.steps)
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, lambda step: self.schedule.factor(step))
                           for name, opt in self.optimizers.items()}
        # mixed precision where the device computes it natively (weights and optimizer stay float32): CUDA
        # (bf16, fp16 on older GPUs) and CPUs with AVX512-BF16 or AMX; autocast_dtype gives None (float32) on
        # other CPUs and on MPS. On a Zen 4 CPU bf16 NRRN lite steps learned as float32 ones did (validation
        # PSNR 31.271 against 31.273 dB after 800 steps; docs/benchmarks.md)
        self.amp_dtype = autocast_dtype(device, "auto") if spec.amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.best: dict | None = None  # {"step", "score", "metrics", "model"}
        self.val_batch = self.fixed_val_batch()

    # -- fine-tuning -------------------------------------------------------------------------
    def _init_package(self, spec: str, resuming: bool = False):
        """(card, state dict) of the package to start from; its architecture and normalisation are kept.
        ``resuming``: a run saved before its configuration followed the start model's (it said lite for any)
        takes the start model's, instead of being refused."""
        from emdenoise_gui.zoo.package import load_weights
        from emdenoise_gui.zoo.registry import resolve

        package = resolve(spec)
        card = package.card
        if card.family != self.spec.family:
            raise InputError(f"is a {card.family} model; fine-tuning {self.spec.family} needs a {self.spec.family} "
                             "model to start from", spec)
        if card.config != self.spec.config and resuming:
            self.spec.config = card.config
        elif card.config != self.spec.config:  # the card would name one size and hold another
            raise InputError(f"is a {card.config} model; fine-tuning keeps its size, so --config {self.spec.config} "
                             "does not fit it: leave --config out", spec)
        if card.normalisation.get("kind") != self.info.normalisation:
            raise InputError(f"was made by an older EMDenoise (its inputs are scaled as '{card.normalisation.get('kind')}'); "
                             "train a new model instead of fine-tuning this one", spec)
        self.architecture = dict(card.architecture)
        self.normalisation = dict(card.normalisation)
        return card, load_weights(package)

    def fitted_init(self, weights: dict) -> dict:
        """The init package's state dict made to fit ``self.model`` (an option that changes its shapes)."""
        return weights

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
        # every pool of the run must hold slices back (cyclic splits its clean, noise and noisy pools in turn: the
        # last pool's answer went on the card, "held-back slices" beside a one-slice pool validated on itself)
        held = all(len(t) < v.depth for t, v in zip(train, volumes))
        self.validation_held_back = held and getattr(self, "validation_held_back", True)
        #: per volume of the last split, whether it held slices back (Stein's estimates are made on those)
        self.held_back_volumes = [len(t) < v.depth for t, v in zip(train, volumes)]
        self.any_held_back = getattr(self, "any_held_back", False) or any(self.held_back_volumes)  # of every split
        return train, val

    def fixed_val_batch(self) -> np.ndarray:
        raise NotImplementedError

    # -- steps ---------------------------------------------------------------------------------
    def sample(self, step: int, rng: np.random.Generator):
        """The data of step ``step`` (numpy arrays), drawn with ``rng``; thread-safe, no torch."""
        raise NotImplementedError

    def learn(self, step: int, batch, rng: np.random.Generator) -> dict:
        """One optimizer step on ``batch`` (from :meth:`sample`); returns the losses by name, detached 0-d
        tensors on the device (reading them waits for it; the engine reads them in groups)."""
        raise NotImplementedError

    def train_step(self, step: int, rng: np.random.Generator) -> dict:
        """Sample and learn in one call (what the engine does with the sampling a step ahead)."""
        return self.learn(step, self.sample(step, rng), rng)

    def rebase_schedule(self, step: int, total: int) -> None:
        """A resumed run with a new total: the rate carries on from its current value."""
        self.schedule.rebase(step, total)

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """``array`` as a float32 tensor on the device; a (B, C, H, W) batch in the run's memory format."""
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(self.device)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.dim() == 4 else tensor

    def optimise(self, loss: torch.Tensor, name: str) -> None:
        """One step of optimiser ``name`` on ``loss``, without reading it back (no wait for a GPU): the
        engine checks that the losses stay finite when it reads them (``engine.loss_read_every``)."""
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

    def train_mode(self) -> None:
        """Put the model back in training mode after validation (subclasses may freeze parts)."""
        self.model.train()

    # -- validation, best model and preview ------------------------------------------------------
    @contextlib.contextmanager
    def _evaluating(self):
        """Eval mode and no gradients inside; back to :meth:`train_mode` after."""
        self.model.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train_mode()

    def validate(self) -> dict:
        with self._evaluating():
            return self.val_losses()

    def observe(self, step: int, metrics: dict) -> bool:
        """Remember the model at ``step`` if its validation is the best so far; True if it is."""
        score = validation_score(metrics)
        if self.best is not None and not score > self.best["score"]:
            return False
        self.best = {"step": step, "score": score, "metrics": dict(metrics),
                     "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}}
        return True

    _filter_psnr: tuple[bytes, float] | None = None  # (digest of the crops it was measured on, dB)

    def held_back_psnr(self, clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray,
                       neighbours: np.ndarray | None = None) -> dict:
        """Mean PSNR (dB) over the held-back crops, (N, H, W) float on [0, 1] (``noisy`` as the model read
        it): ``val_psnr_db`` of the model, ``input_psnr_db`` of the noisy crops, and ``filter_psnr_db`` of
        the classical filter the family must beat on the same crops (``zoo.card.bar_filter``: the SURE-tuned
        Gaussian, on the slice and its neighbours in ``neighbours``, (N, 3, H, W), for a family that reads three
        slices; the flat-field correction for cyclic models): a model below it is no use. The filter's
        score is measured once per set of crops (validation reuses the same ones). Crops the noise left
        unchanged are left out ({} when all are); a crop denoised exactly counts as :data:`PSNR_CAP_DB`."""
        import hashlib

        from emdenoise_gui.core.baselines import FILTERS, apply_filter
        from emdenoise_gui.zoo.card import bar_filter

        name = bar_filter(self.spec.family)[0]
        images = neighbours if FILTERS[name].slices == 3 else noisy
        if images is None:
            raise ValueError(f"{self.spec.family} reads 3 slices: held_back_psnr needs the neighbours")
        # crops the noise left as they were (a black border, a blank slice: no counts, no noise) say nothing
        # of a denoiser and scored inf dB, which went on the card as Infinity: a package no one could load
        noisy_crops = [i for i, (c, n) in enumerate(zip(clean, noisy)) if not np.array_equal(c, n)]
        if not noisy_crops:
            return {}
        clean, noisy, denoised, images = (a[noisy_crops] for a in (clean, noisy, denoised, images))
        digest = hashlib.blake2b(np.ascontiguousarray(images).tobytes(), digest_size=16)
        digest.update(np.ascontiguousarray(clean).tobytes())
        if self._filter_psnr is None or self._filter_psnr[0] != digest.digest():
            filtered = [np.clip(apply_filter(name, i), 0, 1) for i in images]
            self._filter_psnr = (digest.digest(), _mean_db(clean, filtered))
        return {"val_psnr_db": _mean_db(clean, denoised), "input_psnr_db": _mean_db(clean, noisy),
                "filter_psnr_db": self._filter_psnr[1]}

    def infer(self, batch: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
        """The (B, 1, H, W) result of ``model`` (the run's by default) for a (B, input_depth, H, W) z-scored
        batch, as inference computes it."""
        return (self.model if model is None else model)(batch)

    def estimated_errors(self) -> dict:
        """Self-supervised runs: Stein's estimates of the squared error (z-scored units) the model, the model
        it started from and the app's SURE-tuned Gaussians leave on held-back slices (``training.held_back``:
        ``val_risk``, ``init_risk``, ``sure_risk``, ``sure_avg_risk``, ``filter_risk``; the models evaluated in
        float32, no autocast), of the volumes that held slices back; {} for runs with a clean reference.

        Where no volume held any back, the estimates are made on the training slices, and kept only when the
        model fails there (``zoo.fit.CLEARLY_WORSE``): on slices a model trained on they read its error too low
        (its derivatives do not see the weights fitted to that noise), so a fail there is a fail, a pass says
        nothing. A 5-slice stack skipped the check, and ``denoise --adapt`` used a model 15x worse than the
        filter (16.7 dB against 28.4; training audit of 2026-12-07)."""
        from emdenoise_gui.zoo.fit import validation_failure

        if not self.self_supervised:
            return {}
        volumes, slices = [v.data for v in self.data], list(self.val_slices)
        held = getattr(self, "held_back_volumes", [])
        if any(held):  # a short stack beside longer ones: the estimate on those that held slices back
            volumes, slices = zip(*[(v, s) for v, s, h in zip(volumes, slices, held) if h])
        stacks = held_back_stacks(list(volumes), list(slices), usable=estimable)
        start = self._start_model()
        with self._evaluating():
            errors = estimated_errors(self._stack_denoiser(self.model), stacks,
                                      None if start is None else self._stack_denoiser(start), seed=VAL_SEED)
        if any(held) or (errors and validation_failure(errors) is not None):
            return errors
        return {}

    def _stack_denoiser(self, model: torch.nn.Module):
        """A (3, S, S) z-scored stack -> (S, S) float32 result of ``model`` for its centre slice (float32, no
        autocast: the estimate differentiates it by small steps)."""
        def denoise(stack: np.ndarray) -> np.ndarray:
            batch = stack[None] if self.input_depth == 3 else stack[None, 1:2]
            return self.infer(self.tensor(batch), model).float().cpu().numpy()[0, 0]
        return denoise

    def _start_model(self) -> torch.nn.Module | None:
        """A copy of the model with the weights the run started from (``spec.init``), in eval mode; None for a
        run from scratch, or when the start package is gone or holds other weights since (its sha256 is not the
        one the run recorded in ``init_from``: a shipped model an update replaced, a package imported again)."""
        import copy

        from emdenoise_gui.zoo.package import load_weights
        from emdenoise_gui.zoo.registry import recorded_start

        found = recorded_start(self.init_from or "", (self.spec.init,))
        if found is None:
            return None
        try:
            start = copy.deepcopy(self.model)
            start.load_state_dict(self.fitted_init(load_weights(found[1])))
        except (InputError, OSError, ValueError, KeyError, RuntimeError):
            return None
        return start.eval()

    def preview(self) -> tuple[np.ndarray, np.ndarray]:
        """(noisy, denoised) (H, W) float32 on [0, 1] for the first validation crop."""
        with self._evaluating():
            noisy, denoised = self.denoise_crop(self.val_batch[:1])
        return noisy.astype(np.float32), denoised.astype(np.float32)

    # -- state and export ------------------------------------------------------------------------
    def state(self) -> dict:
        init = None if self.init_from is None else {
            "architecture": self.architecture, "normalisation": self.normalisation, "from": self.init_from}
        return {"model": self.model.state_dict(), "init": init,
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
                "schedule": self.schedule.to_dict(), "best": self.best,
                "scaler": self.scaler.state_dict(), "extra": self.extra_state()}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        if state.get("schedule"):
            restored = Schedule.from_dict(state["schedule"])
            self.schedule.__dict__.update(restored.__dict__)
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        self.best = state.get("best")
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.load_extra_state(state.get("extra") or {})

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def before_export(self) -> None:
        """Last changes to the model before it is written (e.g. BatchNorm statistics)."""

    def export(self, output: Path, steps: int, wall_s: float = 0.0, device: str = ""):
        """Write the package to ``output``: the best validated model, with a filled-in card; ``device``: the
        card's words for the device(s) that trained it (``engine.Sessions.words``; "": this trainer's)."""
        best_step = self.best["step"] if self.best else steps
        if self.best:
            self.model.load_state_dict(self.best["model"])
        self.before_export()  # e.g. BatchNorm statistics re-estimated for the weights that ship
        metrics_best = {k: round(float(v), 6) for k, v in {**self.validate(), **self.estimated_errors()}.items()}
        voxels = [v.voxel_size_nm[2] for vs in self._volumes_by_role.values() for v in vs if v.voxel_size_nm]
        training = {
            "recipe": self.recipe(), "schedule": self.schedule.kind, "lr": self.spec.lr,
            "batch_size": self.spec.batch_size, "best_step": best_step,
            "validation": self.validation_words(),
            "wall_s": round(float(wall_s), 1), "device": device or str(self.device), "hardware": _hardware(),
            "precision": precision_name(self.amp_dtype) + (" autocast" if self.amp_dtype else ""),
        }
        if self.init_from is not None:
            training["init_from"] = self.init_from
        training.update(self.training_facts())
        training.update(self.spec.notes or {})
        card = ModelCard(
            name=self.spec.name or Path(output).name.removesuffix(".zip"),
            family=self.spec.family, config=self.spec.config, architecture=self.architecture,
            normalisation=self.normalisation, weights_sha256="0" * 64,
            parameters=self.parameter_count(), description=self.description(),
            training_data="; ".join(f"{role}: {describe(vs)}" for role, vs in self._volumes_by_role.items()),
            noise_condition=self.noise_condition(), steps=steps, training_crop=self.spec.crop, metrics=metrics_best,
            pixel_size_nm=[min(voxels), max(voxels)] if voxels else None, dose_range=self.dose_range(),
            training=training, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        )
        return write_package(Path(output), card, self.model.state_dict())

    def validation_words(self) -> str:
        """What the run validated on, for its card: held-back slices, the training data itself, or both (a stack
        too short to hold any back beside others that did)."""
        if getattr(self, "validation_held_back", False):
            return "held-back slices"
        if getattr(self, "any_held_back", False):
            return ("the training data itself for the stacks too short to hold any back, held-back slices of the "
                    "others (the estimates of the error left: those only)")
        return "the training data itself (too few slices to hold any back)"

    def recipe(self) -> str:
        return "self-supervised on the noisy data"

    def training_facts(self) -> dict:
        """Recipe-specific facts for the card's ``training`` record."""
        return {}

    def description(self) -> str:
        """The card's one line on what the model is for (the family's purpose unless a recipe narrows it)."""
        return self.info.purpose

    def noise_condition(self) -> str:
        return "as in the noisy training data"

    def dose_range(self) -> list | None:
        """[low, high] counts per pixel the model was trained over, if it used synthetic noise."""
        return None

    def synthetic_dose_range(self) -> list | None:
        """[low, high] counts per pixel at the mean of ``self.noise`` on this run's clean data
        (``self.means``: per-volume arrays of slice means on the [0, 1] scale)."""
        return self.noise.dose_range(float(np.mean(np.concatenate(self.means))))


def _hardware() -> str:
    cpu = cpu_description()
    threads = torch.get_num_threads()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {threads} torch thread{'s' if threads != 1 else ''}, {gpu}"


#: A crop denoised exactly (inf dB) counts as this in a mean PSNR (the card holds finite numbers only).
PSNR_CAP_DB = 100.0


def _mean_db(clean, images) -> float:
    """Mean PSNR (dB, each at most :data:`PSNR_CAP_DB`) of ``images`` against ``clean``, (N, H, W) on [0, 1]."""
    from emdenoise_gui.core.metrics import psnr

    return float(np.mean([min(psnr(c, i), PSNR_CAP_DB) for c, i in zip(clean, images)]))
