"""A local AWS API emulator (moto in server mode) on 127.0.0.1 and a free port.

Used by ``spendpilot demo`` and the test suite: boto3 talks real HTTP to it, so the code under
test is the code that talks to AWS.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from spendpilot.errors import ScenarioError

AMIS_PATH = Path(__file__).parent / "emulator_data" / "moto_amis.json"
"""moto's own 44-image list (see emulator_data/PROVENANCE.md). Without it moto loads 1,301 images
and spends seconds serialising them on every DescribeImages; nothing here needs the other 1,257."""

# Credentials the emulator accepts; never real ones.
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


_moto_loader_shared = False


def share_moto_loader() -> None:
    """moto loads each service's model (to parse requests and write answers) through a new
    botocore loader, which first lists botocore's ~400 service folders, about a thousand stat
    calls. Each call lets go of the GIL, so when the demo's sweep reads three regions at once the
    first S3 request took ~2.5 s instead of ~30 ms. One loader, its list made here while no
    request competes for the GIL, gives moto the same models (its own loader class, with moto's
    extras) and lists the folders once."""
    global _moto_loader_shared
    if _moto_loader_shared:
        return
    try:  # moto internals: if a moto release moves them, the emulator runs as before, only slower
        from moto.core import loaders, utils
    except ImportError:
        return
    if not hasattr(utils, "_load_service_model") or not hasattr(loaders, "create_loader"):
        return
    loader = loaders.create_loader()
    loader.list_available_services("service-2")

    def _load_service_model(service_name: str, model_name: str) -> dict[str, Any]:
        model: dict[str, Any] = loader.load_service_model(service_name, model_name)
        return model

    utils._load_service_model = _load_service_model
    _moto_loader_shared = True


class LocalAwsEmulator:
    def __init__(self) -> None:
        # moto reads MOTO_AMIS_PATH when it first loads EC2; a user's own setting wins.
        os.environ.setdefault("MOTO_AMIS_PATH", str(AMIS_PATH))
        from moto.server import ThreadedMotoServer

        from spendpilot.scenarios.emulator_cloudwatch import install

        install()  # same answers as moto's CloudWatch, without its per-period re-scans
        share_moto_loader()

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url: str | None = None

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self.endpoint_url

    def reset(self) -> None:
        """Forget every resource (between tests)."""
        assert self.endpoint_url
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def local_emulator(set_env: bool = True) -> Iterator[LocalAwsEmulator]:
    """Start the emulator; with ``set_env``, point this process's boto3 at it while it runs."""
    emulator = LocalAwsEmulator()
    url = emulator.start()
    saved = {k: os.environ.get(k) for k in [*EMULATOR_ENV, "AWS_ENDPOINT_URL"]}
    if set_env:
        os.environ.update(EMULATOR_ENV)
        os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield emulator
    finally:
        emulator.stop()
        if set_env:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def backdate_volume(volume_id: str, created: datetime) -> None:
    """Set an EBS volume's ``CreateTime`` in the emulator, which stamps every volume with the moment
    of ``CreateVolume`` and has no API to change it (nor does AWS). Only for moto running in this
    process (``LocalAwsEmulator``): a scenario's "created 60 days ago" needs it, and a check that
    reads creation time cannot be evaluated without it."""
    from moto.ec2.models import ec2_backends

    for regions in ec2_backends.values():
        for backend in regions.values():
            volume = backend.volumes.get(volume_id)
            if volume is not None:
                volume.create_time = created
                return
    raise ScenarioError(f"cannot backdate {volume_id}: not in this process's emulator (moto must run in-process)")
