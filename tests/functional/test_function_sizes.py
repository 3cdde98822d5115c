"""Every Lambda function's memory and timeout come from ``.chalice/config.json`` (sized from the
measurements of ``bench/bench_memory.py``, README "Function sizes"), and the package template agrees:
the ``ApiMemorySize`` Parameter's default is the API function's size, ``JobMemorySize``'s the config's
default that every job without its own size shares, and a job the config sizes itself keeps Chalice's
value (no Parameter overrides it)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.template_params import function_sizes, memory_defaults, sized_functions
from tests.conftest import ROOT


def chalice_names() -> dict[str, str]:
    """SAM logical id -> Chalice function name, for every function of the app."""
    from chalice.utils import to_cfn_resource_name

    from infra.build_package import chalice_resources

    _, functions, _ = chalice_resources("dev")
    names = {"api_handler", "sweep", "dispatch", "kpi_aggregate", "worker", "email_inbound", "email_feedback",
             "reconcile_replies"}
    by_id = {"APIHandler": "api_handler", **{to_cfn_resource_name(n): n for n in names - {"api_handler"}}}
    assert set(functions) == set(by_id), f"a function was added or renamed: {sorted(set(functions) ^ set(by_id))}"
    return by_id


def chalice_config(name: str) -> Any:
    from chalice.cli.factory import CLIFactory

    return CLIFactory(str(ROOT), environ={}).create_config_obj(chalice_stage_name="dev").scope("dev", name)


def resolve(value: Any, params: dict[str, Any]) -> Any:
    return params[value["Ref"]]["Default"] if isinstance(value, dict) and "Ref" in value else value


def test_every_function_is_sized_in_the_config_and_the_template_agrees():
    from infra.build_package import merge_template

    merged, _ = merge_template("dev")
    params = merged["Parameters"]
    names = chalice_names()
    sizes = function_sizes(list(names.values()))
    api_memory, job_memory = memory_defaults()
    assert (params["ApiMemorySize"]["Default"], params["JobMemorySize"]["Default"]) == (api_memory, job_memory)
    assert sizes["api_handler"]["own_memory"] and sized_functions() <= set(names.values())
    for fn, name in names.items():
        config = chalice_config(name)  # what `chalice package` writes into the function
        assert (config.lambda_memory_size, config.lambda_timeout) == (sizes[name]["memory"], sizes[name]["timeout"])
        props = merged["Resources"][fn]["Properties"]
        if fn != "APIHandler":
            assert ("MemorySize" in props) is not sizes[name]["own_memory"], name
        deployed = resolve(props.get("MemorySize", config.lambda_memory_size), params)
        assert deployed == sizes[name]["memory"], (name, deployed, sizes[name])


@pytest.mark.parametrize("name", ["sweep", "kpi_aggregate", "worker"])
def test_jobs_finish_before_their_next_run_or_retry(name):
    """The sweep must end within its minute; the KPI jobs within their hour (and the 15-minute Lambda cap)."""
    timeout = function_sizes([name])[name]["timeout"]
    assert timeout <= (60 if name == "sweep" else 900)
