"""compose.yaml stays a valid, complete production-like stack."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_has_the_stack() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "worker", "receiver", "orthanc1", "orthanc2"} <= set(services)
    for name in ("worker", "receiver"):
        service = services[name]
        assert service["environment"]["ADIT_DATABASE_URL"].startswith("postgresql://")
        assert service["command"][0] == name
        assert "spool:/spool" in service["volumes"]  # receiver and workers share the spool
    assert services["receiver"]["command"][-1] == "11112"
    assert '"ADIT"' in services["orthanc1"]["environment"]["ORTHANC__DICOM_MODALITIES"]
    assert (ROOT / "Dockerfile").is_file()
