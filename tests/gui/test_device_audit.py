"""What the device audit of 2026-12-07 found in the app: a settings file from a GPU workstation ("cuda") made
every model job fail with the CLI's "--device cuda: ..." while the status bar said the CPU."""

import time

import pytest

pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("choice", ["cuda", "mps"])
def test_a_device_this_computer_lacks_falls_back_to_auto_and_says_so(window, qtbot, choice):
    if torch.cuda.is_available() or (choice == "mps" and torch.backends.mps.is_available()):
        pytest.skip("this computer has the device")
    window.device.wait(time.monotonic() + 30)  # the start-up probe, with the default device
    window.controller.settings.device = choice
    window.device.probe(window.controller.settings)
    qtbot.waitUntil(lambda: window.device.known and window.controller.settings.device == "auto", timeout=30000)
    qtbot.waitUntil(lambda: any(title == "Device not available" for title, _ in window.warnings), timeout=5000)
    text = [t for title, t in window.warnings if title == "Device not available"][0]
    assert f"Settings ▸ Device says '{choice}', which this computer cannot use" in text
    assert "--device" not in text and window.device.label.text().startswith("device: CPU")
    assert window.zoo_panel.device == "auto"


def test_the_zoo_times_a_model_with_the_threads_a_job_gets(monkeypatch):
    """On 2 cores the timing ran on 2 threads and the jobs on 1: the estimate was about half the time taken."""
    from types import SimpleNamespace

    from emdenoise_gui.gui import workers
    from emdenoise_gui.gui.panels import zoo_fitting
    from emdenoise_gui.inference import estimate

    seen = []
    monkeypatch.setattr(workers, "cpu_cores", lambda: 2)
    monkeypatch.setattr(estimate, "measure_speed", lambda *a, **k: seen.append(torch.get_num_threads()) or 1.0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        owner = SimpleNamespace(_where="", _stopping=None)
        assert zoo_fitting.ZooFitting._measure(owner, "package", "cpu", (512, None)) == 1.0
        assert seen == [1] and torch.get_num_threads() == 2 and owner._where == "the CPU"
    finally:
        torch.set_num_threads(before)


def test_the_status_bar_names_the_threads_a_job_gets(window, qtbot, monkeypatch):
    """It said "CPU (2 threads)" on a 2-core laptop whose jobs ran on one (device audit)."""
    from emdenoise_gui.gui import workers

    monkeypatch.setattr(workers, "cpu_cores", lambda: 2)
    window.device.wait(time.monotonic() + 30)
    before, cap = torch.get_num_threads(), workers._torch_threads
    try:
        window.device.text = None  # the start-up probe's, with this computer's cores
        window.device.probe(window.controller.settings)
        qtbot.waitUntil(lambda: window.device.known, timeout=30000)
        assert window.device.label.text().startswith("device: CPU (1 thread a job)")
    finally:
        window.device.wait(time.monotonic() + 30)
        torch.set_num_threads(before)  # the probe applied the patched cores: not for the tests after it
        workers._torch_threads = cap


def test_a_change_of_cpu_threads_reaches_the_jobs(monkeypatch):
    """The jobs' cap stayed at the count the first job found; "all" never gave the cores back (help audit)."""
    from emdenoise_gui.gui import workers
    from emdenoise_gui.gui.settings import AppSettings

    before, cap = torch.get_num_threads(), workers._torch_threads
    monkeypatch.setattr(workers, "cpu_cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        AppSettings(threads=2).apply_threads()
        assert workers._torch_threads == 2 and workers.job_threads(8, 1, workers._torch_threads) == 2
        AppSettings(threads=0).apply_threads()  # all
        assert workers._torch_threads == 8 and workers.job_threads(8, 1, workers._torch_threads) == 7
    finally:
        torch.set_num_threads(before)
        workers._torch_threads = cap


def test_all_cpu_threads_keeps_an_omp_num_threads_limit(monkeypatch):
    """Settings ▸ CPU threads "all" set one thread per core past OMP_NUM_THREADS (a shared machine's limit,
    which torch honours by itself); it keeps it now, and an unreadable value is ignored."""
    from emdenoise_gui.gui import workers
    from emdenoise_gui.gui.settings import AppSettings

    before, cap = torch.get_num_threads(), workers._torch_threads
    monkeypatch.setattr(workers, "cpu_cores", lambda: 8)
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        AppSettings(threads=0).apply_threads()
        assert workers._torch_threads == 3 and torch.get_num_threads() == 3
        AppSettings(threads=5).apply_threads()  # a count chosen by hand is the user's
        assert workers._torch_threads == 5
        for value, expected in (("16", 8), ("four", 8), ("0", 8), (" 2 ", 2), ("4,2", 4)):
            monkeypatch.setenv("OMP_NUM_THREADS", value)
            assert workers.thread_limit() == expected, value
    finally:
        torch.set_num_threads(before)
        workers._torch_threads = cap
