"""Which errors under a trial are the platform's (hand the trial back) and which are the objective's."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DataError, OperationalError

from workers.platform_errors import platform_error


def test_database_and_redis_outages_are_platform_errors_even_when_wrapped() -> None:
    outage = OperationalError("UPDATE trials", {}, Exception("server closed the connection"))
    assert platform_error(outage) is outage
    try:
        try:
            raise RedisConnectionError("Connection reset by peer")
        except RedisConnectionError as error:
            raise RuntimeError("report failed") from error
    except RuntimeError as wrapped:
        assert isinstance(platform_error(wrapped), RedisConnectionError)


def test_the_objectives_own_errors_and_refused_data_are_not() -> None:
    assert platform_error(ValueError("bad learning rate")) is None
    assert platform_error(DataError("INSERT", {}, Exception("NUL in string"))) is None
