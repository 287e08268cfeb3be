import pytest

from tests.factories import CentreFactory


@pytest.fixture
def centre(db):
    return CentreFactory()
