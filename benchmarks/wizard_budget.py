"""The training wizard's time budget against the time its run takes.

The wizard's settings page measures what a run costs on this computer and plans the steps that fit the
chosen time. This runs that plan as the app makes it, both ways, and times each run: "steps only" (the
plan until 2026-12-06: two timed steps on a helper thread with torch's own threads, the steps alone) and
"all costs" (the probe with the torch threads the training job gets, the app leaving one core to the
window, and the run's validations, checkpoints and set-up in the plan). NRRN lite fine-tuned from the
shipped model on 16 FlyEM slices with Poisson noise at 30 counts per pixel, on the CPU, each run on a
thread with the job's threads (``gui.workers.job_threads``). Run from the repository root:

    python benchmarks/wizard_budget.py [--budget 120]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import FLYEM_VAL, machine, publish, today  # noqa: E402


def _on_thread(work):
    """``work()`` on a new thread (as the app measures and trains: never on the thread that set torch's
    threads first); its value."""
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(value=work()))
    thread.start()
    thread.join()
    return box["value"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="the time budget in s (default 120)")
    parser.add_argument("--out-dir", help="write the JSON and Markdown here instead of benchmarks/results and docs/")
    args = parser.parse_args(argv)
    import os

    scratch = Path(tempfile.mkdtemp(prefix="emdenoise-wizard-budget-"))
    os.environ["EMDENOISE_HOME"] = str(scratch / "home")  # the runs' packages go to a scratch zoo
    import torch

    from emdenoise_gui.core.noise import poisson_dose, slice_rng
    from emdenoise_gui.gui.workers import cpu_cores, job_threads
    from emdenoise_gui.jobs import advise
    from emdenoise_gui.paths import shipped_models_dir
    from emdenoise_gui.training.engine import measure_costs, measure_rate, train

    clean = tifffile.imread(FLYEM_VAL, key=range(16))
    noisy = np.stack([poisson_dose(s / 255.0, 30.0, slice_rng(0, z)) for z, s in enumerate(clean)])
    stack = scratch / "noisy.tif"
    tifffile.imwrite(stack, np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    init = str(shipped_models_dir() / "flyem-nrrn-lite")
    own = torch.get_num_threads()
    threads = job_threads(cpu_cores(), 1, own)
    rows = []
    for plan in ("steps only", "all costs"):
        name = f"budget-{plan.replace(' ', '-')}"
        probe = advise.wizard_spec("nrrn", {"noisy": [str(stack)]}, name, 10, init=init, device="cpu")
        if plan == "steps only":
            rate = _on_thread(lambda: measure_rate(probe, steps=2))
            steps, said = advise.steps_for(args.budget, rate), None
            said = steps / rate
        else:
            def measure():
                torch.set_num_threads(threads)
                return measure_costs(probe, steps=2)

            costs = _on_thread(measure)
            terms = (costs.steps_per_s, costs.validation_s, costs.checkpoint_s, costs.setup_s)
            steps = advise.steps_for(args.budget, *terms)
            said = advise.run_seconds(steps, *terms)
        spec = advise.wizard_spec("nrrn", {"noisy": [str(stack)]}, name, steps, init=init, device="cpu")

        def run():
            torch.set_num_threads(threads)
            start = time.perf_counter()
            for _ in train(spec):
                pass
            return time.perf_counter() - start

        wall = _on_thread(run)
        rows.append({"plan": plan, "probe_threads": own if plan == "steps only" else threads, "job_threads": threads,
                     "steps": steps, "planned_s": round(said, 1), "taken_s": round(wall, 1),
                     "ratio": round(wall / args.budget, 2)})
        print(rows[-1], flush=True)
    command = "python benchmarks/wizard_budget.py" + (f" --budget {args.budget:g}" if args.budget != 120 else "")
    lines = ["## Wizard: the time budget against the run", "",
             f"Command: `{command}`. Machine: {machine()}. Date: {today()}. NRRN lite fine-tuned from the shipped "
             f"model on 16 noisy FlyEM slices, budget {args.budget:g} s, each run with the training job's torch "
             "threads.", "",
             "| plan | probe threads | job threads | steps | planned (s) | taken (s) | taken / budget |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['plan']} | {r['probe_threads']} | {r['job_threads']} | {r['steps']:,} | {r['planned_s']:g} | "
              f"{r['taken_s']:g} | {r['ratio']:.2f}x |" for r in rows]
    shutil.rmtree(scratch, ignore_errors=True)  # the stack and the runs' packages and checkpoints
    publish("wizard_budget", {"date": today(), "machine": machine(), "budget_s": args.budget, "rows": rows},
            "\n".join(lines) + "\n", args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
