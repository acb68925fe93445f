"""The served OpenAPI document is docs/openapi.yaml (as PyYAML reads it), and every route is documented."""

from __future__ import annotations

import yaml

from conftest import OPENAPI_YAML


def test_served_document_equals_the_committed_yaml(fake_server, http):
    r = http.get(f"{fake_server.url}/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    served = r.json()
    committed = yaml.safe_load(OPENAPI_YAML.read_text())
    assert served == committed


def test_every_documented_operation_is_routed(fake_server, http):
    doc = yaml.safe_load(OPENAPI_YAML.read_text())
    for path, item in doc["paths"].items():
        concrete = path.replace("{id}", "sbx-0000000000000000")
        for method in item:
            if method == "parameters":
                continue
            r = http.request(method.upper(), f"{fake_server.url}{concrete}",
                             json={"duration": "1h"} if method == "patch" else None)
            assert r.status_code != 405 and not (r.status_code == 404 and "No route" in r.text), \
                (method, path, r.status_code, r.text)
            assert r.status_code < 500, (method, path, r.status_code, r.text)
