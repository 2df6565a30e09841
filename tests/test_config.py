import pytest

from cnnbook import config
from cnnbook.errors import ParameterError

PROFILES = dict(
    smoke=dict(epochs=2, batch_size=32, train_per_class=10, val_per_class=5, compare=True),
    full=dict(epochs=60, batch_size=128, compare=True),
)


def test_auto_follows_cnnbook_profile(monkeypatch):
    monkeypatch.setenv("CNNBOOK_PROFILE", "full")
    cfg = config.resolve("auto", **PROFILES)
    assert cfg.profile == "full" and cfg.recipe.epochs == 60 and cfg.profile_reason == "set by CNNBOOK_PROFILE"
    assert cfg.data == {"train_per_class": None, "val_per_class": 500, "test_per_class": None}


def test_auto_without_a_gpu_is_smoke(monkeypatch):
    monkeypatch.delenv("CNNBOOK_PROFILE")
    monkeypatch.setattr("cnnbook.system.accelerator", lambda: None)
    assert config.resolve_profile("auto")[0] == "smoke"
    monkeypatch.setattr("cnnbook.system.accelerator", lambda: {"name": "NVIDIA H200", "compute_capability": (9, 0)})
    assert config.resolve_profile("auto") == ("full", "auto: a GPU is present (NVIDIA H200)")


def test_a_bad_cnnbook_profile_is_named(monkeypatch):
    monkeypatch.setenv("CNNBOOK_PROFILE", "fast")
    with pytest.raises(ParameterError, match="^CNNBOOK_PROFILE='fast' is not allowed: choose one of 'smoke', 'full'"):
        config.resolve("auto", **PROFILES)


def test_parameters_override_the_profile_and_none_keeps_it():
    cfg = config.resolve("smoke", **PROFILES, epochs=5, batch_size=None, optimizer="adamw", seed=3)
    assert (cfg.recipe.epochs, cfg.recipe.batch_size, cfg.recipe.optimizer, cfg.seed) == (5, 32, "adamw", 3)
    assert cfg.sources["epochs"] == "parameter" and cfg.sources["batch_size"] == "smoke profile"
    assert cfg.data["train_per_class"] == 10 and cfg.options == {"compare": True}
    table = cfg.table()
    assert table.loc["epochs", "source"] == "parameter" and table.loc["epochs", "value"] == "5"


@pytest.mark.parametrize(
    "kwargs, message",
    [({"profile": "medium"}, "profile='medium' is not allowed: choose one of 'auto', 'smoke', 'full'"),
     ({"epochs": 0}, "epochs=0 is not allowed"),
     ({"optimizer": "sgdd"}, "optimizer='sgdd' is not allowed: choose one of 'sgd', 'adamw' (did you mean 'sgd'?)"),
     ({"model": "lenet6"}, "model='lenet6' is not allowed: choose one of"),
     ({"seed": -1}, "seed=-1 is not allowed"),
     ({"train_per_class": 0}, "train_per_class=0 is not allowed"),
     ({"compare": "yes"}, "compare='yes' is not allowed: compare must be True or False"),
     ({"retrain": "yes"}, "retrain='yes' is not allowed: retrain must be True or False")],
)  # fmt: skip
def test_bad_parameters_stop_with_a_message_naming_them(kwargs, message):
    kwargs = {"profile": "smoke", **kwargs}
    with pytest.raises(ParameterError) as error:
        config.resolve(kwargs.pop("profile"), **PROFILES, **kwargs)
    assert str(error.value).startswith(message)


def test_a_chapter_can_restrict_its_model_parameter():
    cfg = config.resolve("smoke", **PROFILES, model="lenet5_classic", models=("lenet5", "lenet5_classic"))
    assert cfg.model == "lenet5_classic"
    with pytest.raises(ParameterError, match="^model='lenet5x' is not allowed: choose one of 'lenet5', 'lenet5_classic'"):
        config.resolve("smoke", **PROFILES, model="lenet5x", models=("lenet5", "lenet5_classic"))


def test_a_parameter_no_profile_knows_is_a_programming_error():
    with pytest.raises(TypeError, match="'depth'"):
        config.resolve("smoke", **PROFILES, depth=20)


def test_retrain_is_a_setting_of_every_chapter():
    assert config.resolve("smoke", **PROFILES).retrain is False
    cfg = config.resolve("smoke", **PROFILES, retrain=True)
    assert cfg.retrain is True and cfg.table().loc["retrain", "value"] == "True"


def test_budgets_are_45_minutes_and_90_for_the_long_chapters():
    assert config.budget_minutes("02_lenet") == 45 and config.budget_minutes("03_alexnet") == 45
    assert config.budget_minutes("09_resnet") == config.budget_minutes("10_densenet") == 90
