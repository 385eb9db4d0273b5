"""Rebuild the bundled demo from the shared FlyEM FIB-SEM volume (run from the repo root).

Clean: slices 112-127 (never used to train the shipped models), rows 132-387, columns 132-387 of
fibsem_flyem_medulla_val_z000-127_128x520x520.tif (uint8, 10 nm isotropic).
Noisy: the same crop with Poisson noise at 50 counts per pixel (seed 0, the noise the shipped models were trained for), made by
``emdenoise noise`` and stored as uint8 (rounded, clipped to 0-255).
"""

import sys
from pathlib import Path

import tifffile

from emdenoise_gui.cli import main

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[3] / "shared" / "data" / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif"
CLEAN, NOISY = HERE / "flyem_fibsem_demo.tif", HERE / "flyem_fibsem_demo_noisy.tif"

if __name__ == "__main__":
    crop = tifffile.imread(SOURCE, key=range(112, 128))[:, 132:388, 132:388]
    tifffile.imwrite(CLEAN, crop, imagej=True, resolution=(0.1, 0.1),
                     metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})
    sys.exit(main(["noise", str(CLEAN), "-o", str(NOISY), "--kind", "poisson-dose", "--dose", "50",
                   "--seed", "0", "--dtype", "input", "--overwrite"]))
