"""Render the TUI on the demo organisation to docs/tui.svg (for the README), and its dashboard
and audit screens beside it (docs/tui-dashboard.svg, docs/tui-audit.svg).

Usage: python tools/screenshot_tui.py [OUT.svg]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from spendpilot.config import Settings
from spendpilot.demo import prepare_scenario
from spendpilot.runtime import build_services
from spendpilot.scenarios import load_scenario, locate_scenario
from spendpilot.scenarios.emulator import local_emulator
from spendpilot.tui import SpendpilotApp


async def _shoot(services: object, out: Path) -> None:
    app = SpendpilotApp(services, approver="demo")  # type: ignore[arg-type]
    async with app.run_test(size=(160, 46)) as pilot:

        async def settle() -> None:
            for _ in range(10):
                await app.workers.wait_for_complete()
                await pilot.pause(0.2)

        await settle()
        app.save_screenshot(filename=out.name, path=str(out.parent))
        for key, name in (("d", "dashboard"), ("L", "audit")):
            await pilot.press(key)
            await settle()
            app.save_screenshot(filename=f"{out.stem}-{name}.svg", path=str(out.parent))
            await pilot.press("escape")
            await pilot.pause()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tui.svg").resolve()
    spec = load_scenario(locate_scenario("demo"))
    with tempfile.TemporaryDirectory() as tmp, local_emulator() as emulator:
        settings = Settings(home=Path(tmp), aws={"region": spec.region, "endpoint_url": emulator.endpoint_url})
        prepare_scenario(settings, spec, emulator.endpoint_url or "")
        services = build_services(settings)
        services.sweep()
        asyncio.run(_shoot(services, out))
    print(out)


if __name__ == "__main__":
    main()
