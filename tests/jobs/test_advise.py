"""jobs.advise: the wizard's advice (family, start, dose, steps, names) and specs in the wizard's words."""

import pytest

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.jobs import advise


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))


def test_alike_slices_suggest_nrrn_and_differing_ones_noise2void():
    assert advise.KINDS[advise.suggest_kind(0.95)].family == "nrrn"
    assert advise.KINDS[advise.suggest_kind(0.21)].family == "n2v"
    assert advise.KINDS[advise.suggest_kind(None)].family == "n2v"
    text, warn = advise.similarity_text(0.21, "nrrn")
    assert warn and "0.21" in text and "Noise2Void" in text
    assert advise.similarity_text(0.21, "n2v")[1] is False
    assert advise.similarity_text(0.95, "nrrn") == (advise.similarity_text(0.95, "nrrn")[0], False)


def test_every_family_has_an_answer_with_a_sentence():
    assert {k.family for k in advise.DATA_KINDS} == {"cyclic", "n2v", "nrrn", "xception"}
    assert len(advise.KINDS) == len(advise.DATA_KINDS)
    assert all(k.why.endswith(".") and "--" not in k.why + k.label for k in advise.DATA_KINDS)
    assert [k.key for k in advise.DATA_KINDS if k.artifacts] == ["clean-artifacts"]


def test_artifact_models_start_artifact_runs_only(tmp_path):
    artifact_starts = advise.starting_points("cyclic", artifacts=True)
    assert [label.split(" ")[0] for label, _ in artifact_starts] == ["flyem-cyclic-artifacts"]
    assert not any("artifacts" in label for label, _ in advise.starting_points("cyclic"))
    spec = advise.wizard_spec("cyclic", {"clean": [str(tmp_path / "c.tif")]}, "mine", 100,
                              init=artifact_starts[0][1], artifacts="charge,film")
    assert spec.artifacts == "charge,film" and spec.config == "lite" and spec.init == artifact_starts[0][1]
    assert spec.shot_noise == 0.35 and spec.dose == (15.0, 300.0)  # the shipped model's card: kept


def test_a_new_artifacts_run_gets_shot_noise_unless_told_not_to(tmp_path):
    clean = {"clean": [str(tmp_path / "c.tif")]}
    fresh = advise.wizard_spec("cyclic", clean, "a", 100, artifacts="film")
    assert (fresh.shot_noise, fresh.dose) == (advise.ARTIFACT_SHOT_NOISE, advise.ARTIFACT_SHOT_DOSE)
    assert advise.shot_noise_defaults() == (advise.ARTIFACT_SHOT_NOISE, advise.ARTIFACT_SHOT_DOSE)
    assert advise.wizard_spec("cyclic", clean, "b", 100, artifacts="film", shot_noise=0.0).shot_noise == 0.0
    mine = advise.wizard_spec("cyclic", clean, "c", 100, artifacts="film", shot_noise=0.25, dose=(40.0, 80.0))
    assert (mine.shot_noise, mine.dose) == (0.25, (40.0, 80.0))
    assert advise.wizard_spec("nrrn", {"noisy": clean["clean"]}, "d", 100).shot_noise == 0.0


def test_the_recommended_start_is_the_largest_shipped_model():
    starts = advise.starting_points("nrrn")
    assert starts and starts[0][0].startswith("flyem-nrrn-base")
    assert all("nrrn" in label for label, _ in starts)


@pytest.mark.parametrize("budget,rate,steps", [(300, 2.0, 600), (300, 0.01, advise.MIN_STEPS),
                                               (3600, 3.7, 13000), (8 * 3600, 1e3, advise.MAX_STEPS)])
def test_steps_fill_the_budget_rounded(budget, rate, steps):
    assert advise.steps_for(budget, rate) == steps


@pytest.mark.parametrize("budget", [300, 3600, 8 * 3600])
def test_steps_leave_room_for_validations_checkpoints_and_set_up(budget):
    """Planned from the step rate alone, a 5 min wizard run took 6.8: its validations, previews and
    checkpoints were not in the plan."""
    rate, validation_s, checkpoint_s, setup_s = 2.0, 3.0, 0.5, 8.0
    steps = advise.steps_for(budget, rate, validation_s, checkpoint_s, setup_s)
    taken = advise.run_seconds(steps, rate, validation_s, checkpoint_s, setup_s)
    assert taken <= budget and steps < advise.steps_for(budget, rate)
    digits = 10 ** (len(str(steps)) - 2)
    assert steps % digits == 0 and advise.run_seconds(steps + 2 * digits, rate, validation_s, checkpoint_s,
                                                      setup_s) > budget  # rounded down, not far


def test_run_seconds_counts_each_validation_and_checkpoint_of_the_run():
    # 1,000 steps: validated every 100 (10 times), checkpointed every 200 (5 times)
    assert advise.run_seconds(1000, 10.0, 2.0, 1.0, 5.0) == pytest.approx(5 + 100 + 20 + 5)
    spec_every = (advise.validate_every(1000), advise.checkpoint_every(1000))
    assert spec_every == (100, 200)


def test_dose_range_brackets_the_estimate():
    assert advise.dose_range(40.0) == (20.0, 80.0)
    assert advise.dose_range(None) == (25.0, 100.0)


def test_names_are_safe_and_unique(tmp_path):
    name = advise.default_name("/data/My stack (1).ome.tif@0:64,0:64", "n2v")
    assert name == "My-stack-1-n2v"
    from emdenoise_gui.zoo.registry import user_dir

    (user_dir() / name).mkdir(parents=True)
    assert advise.default_name("/data/My stack (1).ome.tif", "n2v") == "My-stack-1-n2v-2"
    # letters of any script are kept (an ASCII-only rule named every non-Latin stack's model 'stack-...')
    assert advise.default_name("/data/中文.tif", "nrrn") == "中文-nrrn"
    assert advise.default_name("/data/😀.tif", "nrrn") == "stack-nrrn"
    assert advise.default_name("/data/தமிழ்.tif", "nrrn") == "தமிழ்-nrrn"  # marks stay on their letters


def test_spec_errors_never_quote_command_line_flags(tmp_path):
    with pytest.raises(InputError) as error:
        advise.wizard_spec("cyclic", {"clean": [str(tmp_path / "c.tif")]}, "m", 100)
    assert "--" not in str(error.value) and "blank-region boxes" in str(error.value)


def test_fine_tuning_takes_the_start_models_configuration(tmp_path):
    label, path = advise.starting_points("nrrn")[0]
    spec = advise.wizard_spec("nrrn", {"noisy": [str(tmp_path / "x.tif")]}, "mine", 100, init=path)
    assert spec.config == "base" and spec.init == path and spec.lr == pytest.approx(1e-3 / 3)
    assert spec.output.endswith("mine") and spec.checkpoint_dir.endswith(".mine.checkpoint")


def test_steps_fill_the_budget_where_validations_come_unevenly():
    """Below 1,000 steps a run validates about ten times and saves five, so the time does not grow evenly with
    the steps (19 steps validate 19 times, 20 steps 10): a binary search planned 35 steps where 70 fit."""
    terms = (1.0, 20.0, 3.0, 10.0)  # steps per s, validation s, checkpoint s, set-up s
    steps = advise.steps_for(300, *terms)
    fitting = [n for n in range(1, 1000) if advise.run_seconds(n, *terms) <= 300]
    assert advise.run_seconds(steps, *terms) <= 300 and steps == max(fitting) == 70


def test_a_model_its_held_back_data_showed_of_no_use_is_not_offered_as_a_start(tmp_path, monkeypatch):
    """The wizard offered first a model it had called "do not use" (wizard audit)."""
    import json

    from tests.conftest import random_package

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    zoo = tmp_path / "home" / "models"
    zoo.mkdir(parents=True)
    for name, loss in (("aaa-failed", 2.0), ("bbb-learned", 0.4)):
        package = random_package(zoo / name, "n2v")
        card = json.loads((package.path / "card.json").read_text())
        card.update(name=name, metrics={"val_loss": loss, "filter_val_loss": 0.6})
        (package.path / "card.json").write_text(json.dumps(card))
    assert [label.split()[0] for label, _ in advise.starting_points("n2v")] == ["bbb-learned"]


def test_a_finished_run_resumed_in_the_wizard_is_told_what_it_can_do():
    """It read "give a the number of steps above 200": the wizard has no steps to give on resume (wizard audit)."""
    said = advise.in_gui_words("this run already finished at step 200; give a --steps above 200 to train on")
    assert "give a the" not in said and "start a fine-tune from its model" in said and "--" not in said


def test_a_name_a_run_is_training_under_now_is_not_proposed(tmp_path, monkeypatch):
    """A second wizard proposed the name of a run still training (before its first checkpoint) and failed only
    when that run ended (wizard audit)."""
    from emdenoise_gui.training.run_lock import training_lock

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    zoo = tmp_path / "home" / "models"
    zoo.mkdir(parents=True)
    assert advise.unique_name("noisy-n2v") == "noisy-n2v"
    with training_lock(zoo / "noisy-n2v"):
        assert advise.unique_name("noisy-n2v") == "noisy-n2v-2"
    assert advise.unique_name("noisy-n2v") == "noisy-n2v"
