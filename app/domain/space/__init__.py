"""Search spaces: parameter value objects, conditional parameters, and the unit cube strategies search in."""

from app.domain.space._choice import CategoricalParam, FixedParam
from app.domain.space._conditions import Condition
from app.domain.space._numeric import FloatParam, IntParam, ParamError, Scale
from app.domain.space._parse import Param
from app.domain.space._space import SearchSpace, Tunable

__all__ = [
    "CategoricalParam",
    "Condition",
    "FixedParam",
    "FloatParam",
    "IntParam",
    "Param",
    "ParamError",
    "Scale",
    "SearchSpace",
    "Tunable",
]
