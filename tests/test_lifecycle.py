"""The life of a project, from a SageMaker Studio launch to a PROD endpoint, played against the
rendered templates with AWS's documented semantics (see tests/lifecycle/)."""

from __future__ import annotations

import pytest

from tests.lifecycle import emulator_fixes
from tests.lifecycle.authorizer import Authorizer
from tests.lifecycle.platform import Platform, write_config
from tests.lifecycle.world import World

pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="module")
def platform(server, tmp_path_factory):
    authorizer = Authorizer()
    with pytest.MonkeyPatch.context() as patch:
        authorizer.install(patch)
        emulator_fixes.install(patch)
        tmp = tmp_path_factory.mktemp("lifecycle")
        world = World(server, authorizer, "eu-west-1")
        deployed = Platform(world, write_config(tmp / "platform.yaml"), tmp / "package")
        deployed.set_up()
        yield deployed
    assert authorizer.problems == []


def test_basic_product_launches_as_the_launch_role(platform):
    project = platform.launch("basic", "churn", "p-idy6c3e1fiqj")
    assert project.stack.status == "CREATE_COMPLETE"
    denied = platform.world.authorizer.denied()
    assert denied == []
