"""The sandbox marketplace: a generated world of shops and orders served over real HTTP in
each platform's wire format, the demo's data source and the benchmarks' load.

    from sandbox import generate, load_scenario
    from sandbox.server import SandboxServer

    world = generate("smoke")                      # or generate(load_scenario("double11"))
    truth = world.ground_truth("jd-pop")           # CanonicalFrames as of the scenario end
    with SandboxServer(world) as server:           # port 0: any free port
        ...  # point connectors at f"{server.url}/jd" etc., credentials in world.credentials

See sandbox/README.md for the wire details per platform. No Prefect here (DEVELOPERS.md).
"""
from sandbox.generator import World, generate
from sandbox.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "World", "generate", "load_scenario"]
