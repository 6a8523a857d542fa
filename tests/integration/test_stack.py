"""`borderhub stack`: status of the real components, and a second `up` is a no-op."""

import json
import subprocess
import sys

import httpx


def borderhub(*args):
    return subprocess.run([sys.executable, "-m", "borderhub", *args], capture_output=True, text=True, timeout=300)


def test_status_json_describes_both_components(stack):
    result = borderhub("stack", "status", "--json")
    assert result.returncode == 0
    status = json.loads(result.stdout)
    assert status["kafka"]["state"] == "running" and status["kafka"]["version"].startswith("4.")
    assert status["elasticsearch"]["state"] == "running" and status["elasticsearch"]["version"].startswith("8.")
    assert status["kafka"]["address"] == "localhost:9092" and status["elasticsearch"]["address"].endswith(":9200")
    health = httpx.get(f"{stack[1]}/_cluster/health").json()
    assert health["status"] in ("green", "yellow")


def test_second_up_is_a_no_op(stack):
    before = json.loads(borderhub("stack", "status", "--json").stdout)
    result = borderhub("stack", "up")
    assert result.returncode == 0
    assert "already running" in result.stderr
    after = json.loads(borderhub("stack", "status", "--json").stdout)
    assert before["kafka"]["pid"] == after["kafka"]["pid"]
    assert before["elasticsearch"]["pid"] == after["elasticsearch"]["pid"]
