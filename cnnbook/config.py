"""Chapter parameters and profiles.

Every chapter has a papermill ``parameters`` cell whose values default to ``None`` ("the
profile's value"), then resolves them against its two profiles:

- ``smoke``: a small real subset in a minute or two on a CPU, what CI runs;
- ``full``: the chapter's real recipe, what the book's numbers come from, sized so that all of a
  chapter's full runs together finish on a 2-core CPU within the chapter's budget
  (`BUDGET_MINUTES`: 45 minutes, 90 for ResNet, DenseNet and transfer learning). On a GPU it
  takes seconds to minutes; the paper-scale schedules are papermill parameters away.

``profile="auto"`` (the default) takes ``$CNNBOOK_PROFILE`` when it is set, else ``full`` when a
GPU is present and ``smoke`` otherwise. So the profile is chosen without editing the notebook,
and a stored notebook carries no value that would make CI train the full recipe.

A chapter's finished runs are reused when it is executed again (`cnnbook.train.fit`);
``retrain=True`` trains them afresh.

    cfg = cnnbook.config.resolve(
        profile,
        smoke=dict(epochs=3, train_per_class=100),
        full=dict(epochs=60),
        epochs=epochs, batch_size=batch_size, model=model,
    )
    cfg.recipe, cfg.data, cfg.model, cfg.seed, cfg.options

A bad value stops the chapter here, with a `ParameterError` naming the parameter, the value and
what is allowed.
"""

import dataclasses
import os
from dataclasses import dataclass

from cnnbook.errors import ParameterError, check_choice, check_int

PROFILES = ("smoke", "full")
# Minutes that all of a chapter's full-profile runs may take together on a 2-core CPU.
# The speedrun chapter's final runs alone are three seeds of up to 20 minutes each (its issue), and
# its ablations four runs of about 12 minutes.
BUDGET_MINUTES = {"default": 45, "09_resnet": 90, "10_densenet": 90, "11_transfer_learning": 90, "13_speedrun": 120}
DATA_FIELDS = ("train_per_class", "val_per_class", "test_per_class")
DATA_DEFAULTS = {"train_per_class": None, "val_per_class": 500, "test_per_class": None}


def resolve_profile(profile):
    """``(profile, reason)`` for a ``profile`` parameter of ``"smoke"``, ``"full"`` or ``"auto"``."""
    check_choice("profile", profile, ("auto", *PROFILES))
    if profile != "auto":
        return profile, "set by the profile parameter"
    chosen = os.environ.get("CNNBOOK_PROFILE")
    if chosen:
        check_choice("CNNBOOK_PROFILE", chosen, PROFILES)
        return chosen, "set by CNNBOOK_PROFILE"
    from cnnbook import system

    device = system.accelerator()
    if device:
        return "full", f"auto: a GPU is present ({device['name']})"
    return "smoke", "auto: no GPU is present (pass -p profile full to train the full recipe anyway)"


@dataclass(frozen=True)
class ChapterConfig:
    """The resolved parameters of a chapter run."""

    profile: str
    profile_reason: str
    model: str | None
    seed: int
    data: dict
    recipe: object
    options: dict
    sources: dict
    retrain: bool = False

    def table(self):
        """Every setting with its value and where it came from, as a pandas DataFrame."""
        import pandas as pd

        values = {"profile": self.profile, "model": self.model, "seed": self.seed, "retrain": self.retrain, **self.data}
        values.update(self.recipe.to_dict())
        values.update(self.options)
        rows = [
            (key, repr(value), self.profile_reason if key == "profile" else self.sources.get(key, "default"))
            for key, value in values.items()
            if not (key == "model" and value is None)
        ]
        return pd.DataFrame(rows, columns=["setting", "value", "source"]).set_index("setting")

    def _repr_html_(self):
        return self.table()._repr_html_()

    def __repr__(self):
        return self.table().to_string()


def budget_minutes(chapter):
    """The chapter's full-profile budget on a 2-core CPU, in minutes."""
    return BUDGET_MINUTES.get(chapter, BUDGET_MINUTES["default"])


def resolve(profile="auto", *, smoke, full, seed=0, model=None, models=None, retrain=False, **parameters):
    """Resolve a chapter's parameters against its profiles; see the module docstring.

    Args:
        profile: ``"smoke"``, ``"full"`` or ``"auto"``.
        smoke, full: each profile's values: `Recipe` fields, data sizes (``train_per_class``,
            ``val_per_class``, ``test_per_class``) and chapter options of the chapter's own.
        seed: the run's seed (a whole number >= 0).
        retrain: train the chapter's runs again even where a finished run of the same model,
            data and recipe can be reused (True or False).
        model: a registered model name, or None for chapters without a model parameter.
        models: the names ``model`` may take in this chapter (default: every registered model).
        **parameters: the parameters cell's values; None keeps the profile's value.
    """
    from cnnbook.train import Recipe

    profile, reason = resolve_profile(profile)
    defaults = {"smoke": smoke, "full": full}[profile]
    recipe_fields = {f.name for f in dataclasses.fields(Recipe)}
    known = recipe_fields | set(DATA_FIELDS) | set(smoke) | set(full)
    for name in parameters:
        if name not in known:
            raise TypeError(
                f"resolve() got the parameter {name!r}, which neither profile defines and which is not "
                f"a Recipe field or a data size; add it to the profiles or drop it"
            )
    values, sources = {}, {}
    for name in known:
        given = parameters.get(name)
        if given is not None:
            values[name], sources[name] = given, "parameter"
        elif name in defaults:
            values[name], sources[name] = defaults[name], f"{profile} profile"
    seed = check_int("seed", seed, minimum=0)
    if not isinstance(retrain, bool):
        raise ParameterError("retrain", retrain, "retrain must be True or False")
    sources["retrain"] = "parameter"
    if model is not None:
        from cnnbook import models as registry

        check_choice("model", model, tuple(models) if models is not None else registry.names())
        registry.spec(model)  # the chapter's choices must be registered models
        sources["model"] = "parameter"
    sources["seed"] = "parameter"
    recipe = Recipe(**{k: v for k, v in values.items() if k in recipe_fields})
    data = {k: values.get(k, DATA_DEFAULTS[k]) for k in DATA_FIELDS}
    for key in DATA_FIELDS:
        if data[key] is not None:
            data[key] = check_int(key, data[key], minimum=1)
    options = {}
    for name in sorted(set(smoke) | set(full)):
        if name in recipe_fields or name in DATA_FIELDS:
            continue
        value = values.get(name)
        reference = full.get(name, smoke.get(name))
        options[name] = _check_like(name, value, reference)
    return ChapterConfig(profile, reason, model, seed, data, recipe, options, sources, retrain)


def _check_like(name, value, reference):
    """Check a chapter option against the type of its profile value."""
    if reference is None or value is None:
        return value
    if isinstance(reference, bool):
        if not isinstance(value, bool):
            raise ParameterError(name, value, f"{name} must be True or False")
        return value
    if isinstance(reference, int):
        return check_int(name, value)
    if isinstance(reference, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(name, value, f"{name} must be a number")
        return float(value)
    if isinstance(reference, str) and not isinstance(value, str):
        raise ParameterError(name, value, f"{name} must be a string")
    return value
