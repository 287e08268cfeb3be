import pytest

from tests.factories import CentreFactory
from waitingroom import selectors


@pytest.fixture
def centre(db):
    return CentreFactory()


@pytest.fixture(autouse=True)
def fresh_overview(settings):
    """The live overview is counted anew for every request (a test of its sharing and cost sets
    OVERVIEW_SECONDS itself)."""
    from booking.services.overview import clear_copy

    settings.OVERVIEW_SECONDS = 0
    settings.OVERVIEW_REFRESH_SECONDS = 0
    clear_copy()
    yield
    clear_copy()


@pytest.fixture(autouse=True)
def fresh_queue_states(settings):
    """Every request reads the waiting room's queue states anew, from this test's database (a
    test of polling's cost sets WAITINGROOM_STATE_SECONDS itself)."""
    settings.WAITINGROOM_STATE_SECONDS = 0
    selectors.clear_cache()
    yield
    selectors.clear_cache()


@pytest.fixture
def make_hotline(db):
    """An API client (DRF's test client) signed in as a new hotline client with these scopes,
    naming agent "agent-7" on every request. Credentials win over headers given to a single
    request: to speak as another agent, call api.credentials(...) with both headers again."""
    from rest_framework.test import APIClient

    from impfportal.api.services import api_client_create
    from impfportal.models import Scope

    def make(scopes=tuple(Scope.values), name=None, agent="agent-7", **options):
        client, token = api_client_create(
            name=name or f"Call-Center {ApiClientCounter.next()}", scopes=list(scopes), **options
        )
        api = APIClient()
        # Credentials, not defaults: a test replaces them with api.credentials(...).
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_AGENT_ID=agent)
        api.client_row, api.token = client, token
        return api

    return make


@pytest.fixture
def hotline(make_hotline):
    """A hotline client with every scope."""
    return make_hotline()


class ApiClientCounter:
    count = 0

    @classmethod
    def next(cls) -> int:
        cls.count += 1
        return cls.count
