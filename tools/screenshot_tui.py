"""Render the TUI on the demo organisation to docs/tui.svg (for the README), and its dashboard
and audit screens beside it (docs/tui-dashboard.svg, docs/tui-audit.svg).

Usage: python tools/screenshot_tui.py [OUT.svg]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

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
    """The demo exactly as `spendpilot demo` builds it: both accounts, the Kubernetes cluster and
    its Prometheus (when installed), the OpenTelemetry spans, then the sweep and the showback rows."""
    from datetime import UTC, datetime

    from spendpilot.scenarios.kube_seed import scenario_clusters, scenario_settings
    from spendpilot.scenarios.prometheus_seed import scenario_prometheus
    from spendpilot.scenarios.showback import write_showback

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tui.svg").resolve()
    spec = load_scenario(locate_scenario("demo"))
    now = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_emulator() as emulator,
        scenario_clusters(spec, Path(tmp), now),
        scenario_prometheus(spec.path, Path(tmp), now, required=False, skipped=print) as usage,
    ):
        settings = scenario_settings(spec, Path(tmp), emulator.endpoint_url, extra_sources=usage)
        settings.ensure_home()
        prepare_scenario(settings, spec, emulator.endpoint_url or "", now=now)
        services = build_services(settings)
        services.sweep()
        write_showback(services, settings, now)
        asyncio.run(_shoot(services, out))
    print(out)

if __name__ == "__main__":
    main()
