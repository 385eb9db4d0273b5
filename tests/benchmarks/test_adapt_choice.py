"""benchmarks/adapt_choice.py reads what `denoise --adapt` chose from its notes: the notes' words and the
benchmark's reading of them must stay in step (a changed word would file every row as "self-trained")."""

import json
from types import SimpleNamespace

import pytest

from benchmarks.adapt_choice import _chosen, _markdown
from emdenoise_gui.cli.images import _instead_of_a_failed_adaptation
from tests.cli.test_adapt_choice import shipped_lite
from tests.conftest import random_package


@pytest.mark.parametrize("metrics, init, chosen", [
    ({"val_risk": 0.095, "filter_risk": 0.074}, "", "filter gaussian-sure-avg"),
    ({"val_risk": 0.095, "filter_risk": 0.074, "init_risk": 0.060}, "flyem-nrrn-lite", "start model"),
    ({"val_risk": 0.030, "filter_risk": 0.031, "init_risk": 0.028}, "flyem-nrrn-lite", "start model"),
    ({"val_risk": 0.030, "filter_risk": 0.031, "init_risk": 0.033}, "flyem-nrrn-lite", "self-trained"),
])
def test_the_benchmark_reads_the_choice_from_the_commands_note(tmp_path, capsys, noisy_crop, metrics, init,
                                                                chosen):
    package = random_package(tmp_path / "noisy-nrrn-adapted", "nrrn")
    card_file = package.path / "card.json"
    card = json.loads(card_file.read_text())
    if init:  # started from the shipped lite; else from scratch
        card["training"] = {**card.get("training", {}), "init_from": shipped_lite()}
    card_file.write_text(json.dumps({**card, "metrics": metrics}))
    _instead_of_a_failed_adaptation(SimpleNamespace(output=str(package.path), init=init), str(noisy_crop))
    assert _chosen(capsys.readouterr().err) == chosen


def test_the_table_names_the_choice_and_the_estimates():
    row = {"dataset": "ISBI", "family": "nrrn", "chosen": "filter gaussian-sure", "command": 26.55,
           "self-trained": 25.76, "start model": 21.0, "gaussian-sure": 26.55, "gaussian-sure-avg": 23.82,
           "gaussian": 26.63, "noisy input": 20.33, "val_risk": 0.0949, "init_risk": 0.2221, "filter_risk": 0.0744,
           "wall_s": 42.0, "steps": 600, "start": "flyem-nrrn-lite (sha256 0123456789ab)"}
    text = _markdown({"date": "2026-12-07", "machine": "test", "condition": "poisson-dose 25", "rows": [row]})
    assert ("| ISBI | nrrn | flyem-nrrn-lite (600 steps) | filter gaussian-sure | **26.55** | 25.76 | 21.00 |"
            in text)
    assert "0.0949 / 0.2221 / 0.0744 | 42 s |" in text
