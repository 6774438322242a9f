"""The demo organisation fixtures (``demo_org``, ``swept_org``) live in ``tests/demo_fixtures.py``.

``tests/conftest.py`` registers them for the whole suite; these names stay importable from here for
test modules written before they moved.
"""

from tests.demo_fixtures import DemoOrg, demo_org, swept_org

__all__ = ["DemoOrg", "demo_org", "swept_org"]
