"""/healthz: is the API up, and can it reach the database and Redis?"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import ReadSessionDep, SettingsDep
from app.api.schemas import Health
from app.queue import redis_connection

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"model": Health}})
def healthz(session: ReadSessionDep, settings: SettingsDep, response: Response) -> Health:
    """Liveness and dependencies; 503 if the database is unreachable."""
    try:
        session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as error:
        database = f"error: {type(error).__name__}"
    redis = "not configured"
    if settings.redis_url:
        try:
            redis_connection(settings.redis_url).ping()
            redis = "ok"
        except RedisError as error:
            redis = f"error: {type(error).__name__}"
    healthy = database == "ok"
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if healthy else "degraded", database=database, redis=redis)
