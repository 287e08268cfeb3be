import pytest

from tests.factories import CentreFactory
from waitingroom import selectors


@pytest.fixture
def centre(db):
    return CentreFactory()


@pytest.fixture(autouse=True)
def fresh_queue_states(settings):
    """Every request reads the waiting room's queue states anew, from this test's database (a
    test of polling's cost sets WAITINGROOM_STATE_SECONDS itself)."""
    settings.WAITINGROOM_STATE_SECONDS = 0
    selectors.clear_cache()
    yield
    selectors.clear_cache()
