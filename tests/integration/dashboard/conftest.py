from tests.integration.api.conftest import client

__all__ = ["client"]
