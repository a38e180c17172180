"""Turn a user's spec into the canonical stored spec, or raise InvalidSpec naming the field."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any, Literal

from app.domain.catalog import BUILTIN_DATASETS, builtin_objective_info, validate_dataset_options
from app.domain.catalog.objectives import ObjectiveInfo
from app.domain.pruners import Pruner, build_pruner
from app.domain.space import SearchSpace
from app.domain.strategies import Strategy, build_strategy
from app.domain.strategies._panda import PandaStrategy
from app.domain.strategies._pbt import PopulationBasedTraining
from app.errors import InvalidSpec
from app.services.spec_model import SearchSpec
from app.settings import Settings
from caviar import InvalidParams

EXTERNAL = "external"
"""The objective of searches whose trials clients evaluate themselves (ask/tell), never queued to workers."""


@dataclass(frozen=True)
class ValidatedSpec:
    """A spec whose every part was checked, with the domain objects it builds."""

    canonical: dict[str, Any]
    space: SearchSpace
    strategy: Strategy
    pruner: Pruner
    seed: int
    dataset_name: str | None


def dataset_reference(raw: str | Mapping[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    """Split `"digits"` or `{"name": "spirals", "noise": 0.2}` into (name, options); None: no dataset."""
    if raw is None:
        return None, {}
    if isinstance(raw, str):
        return raw, {}
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidSpec("dataset.name", "a dataset object needs a `name` string")
    return name, {key: value for key, value in raw.items() if key != "name"}


def strategy_for(canonical: Mapping[str, Any]) -> Strategy:
    """Rebuild the strategy of a stored (already validated) spec."""
    space = SearchSpace.from_spec(canonical["space"])
    return build_strategy(
        canonical["strategy"],
        space,
        seed=canonical["seed"],
        direction=canonical["direction"],
        max_trials=canonical["budget"]["max_trials"],
    )


def validate_spec(
    spec: SearchSpec,
    settings: Settings,
    *,
    known_objectives: Set[str],
    uploaded_dataset_id: str | None,
) -> ValidatedSpec:
    """Check a spec as a whole; `uploaded_dataset_id` is the stored dataset the name resolved to, if any."""
    _check_finite(spec.model_dump(), "")
    if spec.objective not in known_objectives and spec.objective != EXTERNAL:
        known = ", ".join(sorted({*known_objectives, EXTERNAL}))
        raise InvalidSpec("objective", f"unknown objective {spec.objective!r}; known objectives: {known}")
    _check_budget(spec, settings)
    info = builtin_objective_info(spec.objective)
    dataset_name, dataset_options = dataset_reference(spec.dataset)
    if dataset_name is None:
        if info is not None and info.uses_dataset:
            raise InvalidSpec("dataset", f"objective {spec.objective!r} trains on a dataset: name one")
    elif uploaded_dataset_id is None:
        _check_builtin_dataset(dataset_name, dataset_options)
    elif dataset_options:
        raise InvalidSpec("dataset", "an uploaded dataset takes no options")
    space = SearchSpace.from_spec(spec.space)
    if info is not None:
        _check_objective_params(space, info.validate_params, info.parameters)
        if spec.metric not in info.metrics:
            raise InvalidSpec(
                "metric", f"objective {spec.objective!r} reports {sorted(info.metrics)}, not {spec.metric!r}"
            )
    seed = spec.seed if spec.seed is not None else secrets.randbelow(2**31)
    strategy, pruner = _search_parts(spec, space, seed)
    if isinstance(strategy, PopulationBasedTraining | PandaStrategy):
        _check_live_training(spec, space, strategy, info)
    canonical = _canonical(spec, space, strategy, pruner, seed)
    if uploaded_dataset_id is not None:
        canonical["dataset"] = uploaded_dataset_id
    return ValidatedSpec(canonical, space, strategy, pruner, seed, uploaded_dataset_id or dataset_name)


def normal_form(spec: SearchSpec) -> dict[str, Any]:
    """The spec with every default spelled out (space, strategy, pruner, a built-in dataset's options)
    and distribution bounds in their type, as submitted otherwise: fixed values as written, the seed
    unset if it was, an uploaded dataset's name unresolved. Two specs that mean the same search compare
    equal (what `Idempotency-Key` retries are checked with); needs no database, so it never depends on
    which workers are alive. Raises InvalidSpec as `validate_spec` would."""
    space = SearchSpace.from_spec(spec.space)
    strategy, pruner = _search_parts(spec, space, seed=0)  # the seed changes proposals, not the spec
    dataset_name, dataset_options = dataset_reference(spec.dataset)
    if dataset_name in BUILTIN_DATASETS:
        dataset_options = _check_builtin_dataset(dataset_name, dataset_options)
    dataset = None if dataset_name is None else {"name": dataset_name, **dataset_options}
    return {**_canonical(spec, space, strategy, pruner, spec.seed), "dataset": dataset}


def _search_parts(spec: SearchSpec, space: SearchSpace, seed: int) -> tuple[Strategy, Pruner]:
    strategy = build_strategy(
        spec.strategy, space, seed=seed, direction=spec.direction, max_trials=spec.budget.max_trials
    )
    bounded = _bound_resource(spec.pruner, space)
    try:
        pruner = build_pruner(bounded, direction=spec.direction)
    except InvalidSpec as error:
        if bounded is spec.pruner or error.field != "pruner.max_resource":
            raise
        # The user never wrote max_resource: it is the fixed `epochs`, so that is what to change.
        raise InvalidSpec(
            "space.epochs",
            f"ASHA without `max_resource` stops at the fixed epochs, which must exceed its `min_resource`: "
            f"{error.message}",
        ) from error
    return strategy, pruner


def _canonical(
    spec: SearchSpec, space: SearchSpace, strategy: Strategy, pruner: Pruner, seed: int | None
) -> dict[str, Any]:
    direction: Literal["minimize", "maximize"] = spec.direction
    return {
        "name": spec.name,
        "objective": spec.objective,
        "dataset": spec.dataset,
        "metric": spec.metric,
        "direction": direction,
        "space": space.to_spec(),
        "strategy": strategy.to_spec(),
        "pruner": pruner.to_spec(),
        "budget": spec.budget.model_dump(),
        "seed": seed,
        "checkpoint_every": spec.checkpoint_every,
    }


def _bound_resource(pruner: Mapping[str, Any] | None, space: SearchSpace) -> Mapping[str, Any] | None:
    """ASHA without `max_resource` gets the fixed `epochs`, so no rung falls on a trial's last epoch."""
    if pruner is None or pruner.get("kind") != "asha" or pruner.get("max_resource") is not None:
        return pruner
    epochs = space.fixed().get("epochs")
    if isinstance(epochs, int) and not isinstance(epochs, bool):
        return {**pruner, "max_resource": epochs}
    return pruner


def _check_finite(value: Any, path: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidSpec(path or "spec", f"numbers must be finite, got {value}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_finite(item, f"{path}[{index}]")


def _check_live_training(
    spec: SearchSpec,
    space: SearchSpace,
    strategy: PopulationBasedTraining | PandaStrategy,
    info: ObjectiveInfo | None,
) -> None:
    """PBT and panda change live hyperparameters of running trials, branch them from their checkpoints
    and stop them themselves (PBT) or by the user's hand (panda): the objective must allow all of that."""
    kind = strategy.kind
    member = strategy.propose([], {}, 1)[0][0].params
    live = set(info.live_names(member)) if info is not None else set()
    if kind == "pbt":
        live &= set(space.names)  # what PBT explores must be tuned; a panda user nudges fixed ones too
    if not live:
        what = "that the space tunes" if kind == "pbt" else "to nudge"
        raise InvalidSpec(
            "strategy.kind",
            f"{kind} needs live-adjustable hyperparameters {what}; objective {spec.objective!r} has none "
            "here (mlp's: learning_rate, l2, keep_prob, the optimizer's betas, decay_rate)",
        )
    if spec.checkpoint_every == 0:
        raise InvalidSpec(
            "checkpoint_every", f"{kind} branches trials from their checkpoints: it cannot be 0"
        )
    if (spec.pruner or {}).get("kind", "none") != "none":
        who = "PBT stops and replaces its bottom members itself" if kind == "pbt" else "the user stops them"
        raise InvalidSpec("pruner.kind", f"{who}: use `none`")
    epochs = member.get("epochs")
    if (
        isinstance(strategy, PopulationBasedTraining)
        and isinstance(epochs, int)
        and epochs <= strategy.pbt.interval
    ):
        raise InvalidSpec(
            "strategy.interval",
            f"members are ranked every `interval` epochs before their last: `interval < epochs` must hold, "
            f"got interval={strategy.pbt.interval}, epochs={epochs}",
        )


def _check_budget(spec: SearchSpec, settings: Settings) -> None:
    if len(spec.space) > settings.max_space_parameters:
        raise InvalidSpec(
            "space",
            f"at most {settings.max_space_parameters} parameters per space are allowed "
            f"(CAVIAR_MAX_SPACE_PARAMETERS), got {len(spec.space)}",
        )
    if spec.budget.max_trials > settings.max_trials_per_search:
        raise InvalidSpec(
            "budget.max_trials",
            f"at most {settings.max_trials_per_search} trials per search are allowed "
            f"(CAVIAR_MAX_TRIALS_PER_SEARCH), got {spec.budget.max_trials}",
        )
    if spec.budget.max_parallel > settings.max_parallel_per_search:
        raise InvalidSpec(
            "budget.max_parallel",
            f"at most {settings.max_parallel_per_search} parallel trials are allowed "
            f"(CAVIAR_MAX_PARALLEL_PER_SEARCH), got {spec.budget.max_parallel}",
        )


def _check_builtin_dataset(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of built-in dataset `name` with defaults filled in, or InvalidSpec naming the field."""
    if name not in BUILTIN_DATASETS:
        raise InvalidSpec(
            "dataset",
            f"unknown dataset {name!r}: use a built-in one ({', '.join(sorted(BUILTIN_DATASETS))}) "
            "or the name or id of a dataset uploaded with POST /datasets",
        )
    try:
        return validate_dataset_options(name, options)
    except InvalidParams as error:
        raise InvalidSpec(f"dataset.{error.name}", error.message) from error


def _check_objective_params(space: SearchSpace, validate: Any, parameters: Set[str] | None) -> None:
    for name in (*space.names, *space.fixed()):
        if parameters is not None and name not in parameters:
            raise InvalidSpec(f"space.{name}", f"the objective takes no parameter {name!r}")
    # The corners of the unit cube reach every bound of every range the user gave.
    for corner in (0.0, 0.5, 1.0):
        params = space.from_unit([corner] * len(space.names))
        try:
            validate(params)
        except InvalidParams as error:
            raise InvalidSpec(f"space.{error.name}", error.message) from error
