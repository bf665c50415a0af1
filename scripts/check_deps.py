"""Resolve this package's dependencies for the Docker image's Python on x86_64 and aarch64.

    python scripts/check_deps.py [--python 3.13 ...] [--arch x86_64 aarch64] [--glibc 2.41]

For every (Python, architecture) target, pip resolves `pyproject.toml`'s dependencies against
the package index as `pip install --dry-run --report` would for that machine: binary wheels
only (`--only-binary=:all:`), CPython of that version, every manylinux tag up to the target's
glibc (Debian trixie, the image's base, has 2.41). pip fetches metadata (and the sdists named
below), nothing is installed. pip evaluates environment markers (`platform_machine`,
`python_version`) for the interpreter that runs it, not for `--platform`, so pip runs here
with the target's marker values patched in.

A target passes when everything resolves, TensorFlow is the CPU build for its architecture
(`tensorflow-cpu` on x86_64, `tensorflow` on aarch64) and no GPU-only `nvidia-*` package is
in the set. A dependency published only as an sdist (sdnotify) is built here once, as pip
in the image would build it, and counts when it makes a pure-Python wheel. The default Python
is the Dockerfile's `ARG PYTHON_VERSION`. Prints one line per target, then one JSON line;
exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TENSORFLOW = {"x86_64": "tensorflow-cpu", "aarch64": "tensorflow"}
GPU_ONLY_PREFIX = "nvidia-"
OLDEST_MANYLINUX = 17  # manylinux_2_17 == manylinux2014
TIMEOUT_S = 600

# pip's own marker evaluation with the target's values (pip has no option for it).
_PIP_WITH_MARKERS = """
import sys, json
from pip._vendor.packaging import markers
_env = json.loads(sys.argv.pop(1))
_default = markers.default_environment
markers.default_environment = lambda: {**_default(), **_env}
from pip._internal.cli.main import main
sys.exit(main())
"""


def dockerfile_python(dockerfile: Path = ROOT / "Dockerfile") -> str:
    """The `ARG PYTHON_VERSION=X.Y` of the Dockerfile."""
    found = re.search(r"^ARG PYTHON_VERSION=(\d+\.\d+)\s*$", dockerfile.read_text(), re.M)
    if not found:
        raise SystemExit(f"{dockerfile}: no `ARG PYTHON_VERSION=X.Y` line")
    return found.group(1)


def project_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


def marker_environment(python: str, arch: str) -> dict[str, str]:
    """PEP 508 marker values of CPython `python` on Linux `arch` (pure)."""
    return {"implementation_name": "cpython", "implementation_version": f"{python}.0",
            "os_name": "posix", "platform_machine": arch, "platform_release": "",
            "platform_system": "Linux", "platform_version": "",
            "python_full_version": f"{python}.0", "platform_python_implementation": "CPython",
            "python_version": python, "sys_platform": "linux"}


def platform_tags(arch: str, glibc_minor: int) -> list[str]:
    """Every manylinux tag a glibc 2.<glibc_minor> machine accepts, newest first (pure)."""
    tags = [f"manylinux_2_{m}_{arch}" for m in range(glibc_minor, OLDEST_MANYLINUX - 1, -1)]
    return [*tags, f"manylinux2014_{arch}"]


def pip_command(python: str, arch: str, glibc_minor: int, requirements: list[str],
                report: Path) -> list[str]:
    abi = "cp" + python.replace(".", "")
    platforms = [arg for tag in platform_tags(arch, glibc_minor) for arg in ("--platform", tag)]
    return [sys.executable, "-c", _PIP_WITH_MARKERS, json.dumps(marker_environment(python, arch)),
            "install", "--dry-run", "--ignore-installed", "--quiet", "--no-input",
            "--disable-pip-version-check", "--only-binary=:all:", "--python-version", python,
            "--implementation", "cp", "--abi", abi, *platforms, "--report", str(report),
            *requirements]


def verdict(arch: str, installed: dict[str, str]) -> list[str]:
    """What is wrong with a resolved set (name -> version) for `arch`; empty when fine."""
    problems = []
    want = TENSORFLOW[arch]
    if want not in installed:
        problems.append(f"{want} (TensorFlow's CPU build for {arch}) is not in the set")
    other = set(TENSORFLOW.values()) - {want}
    problems += [f"{name} is in the set (not the build for {arch})"
                 for name in sorted(other & set(installed))]
    problems += [f"{name} is GPU-only" for name in sorted(installed)
                 if name.startswith(GPU_ONLY_PREFIX)]
    return problems


def missing_wheel(stderr: str) -> str | None:
    """The requirement pip found no wheel at all for, from its error output."""
    found = re.search(r"No matching distribution found for ([A-Za-z0-9_.\-]+)", stderr)
    return found.group(1) if found else None


def pure_python_wheel(name: str, wheels: Path) -> bool:
    """Build `name` from its sdist into `wheels` (as pip in the image would); True when the
    result is a pure-Python wheel, which installs on any target."""
    before = set(wheels.glob("*.whl"))
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                          "--no-binary", name, "-w", str(wheels), name],
                         capture_output=True, text=True, timeout=TIMEOUT_S)
    built = set(wheels.glob("*.whl")) - before
    return run.returncode == 0 and bool(built) and all(
        w.name.endswith("-none-any.whl") for w in built)


def resolve(python: str, arch: str, glibc_minor: int, requirements: list[str],
            wheels: Path) -> tuple[dict | None, list[str], str]:
    """pip's report for the target (None when it does not resolve), the sdist-only
    pure-Python packages built on the way into `wheels` (shared by all targets), and pip's
    error output."""
    built = []
    while True:
        report = wheels.parent / f"report-{python}-{arch}.json"
        cmd = pip_command(python, arch, glibc_minor, requirements, report)
        run = subprocess.run([*cmd, "--find-links", str(wheels)], capture_output=True,
                             text=True, timeout=TIMEOUT_S)
        if run.returncode == 0:
            return json.loads(report.read_text()), built, ""
        name = missing_wheel(run.stderr)
        if name is None or name in built or not pure_python_wheel(name, wheels):
            return None, built, run.stderr
        built.append(name)


def check(python: str, arch: str, glibc_minor: int, requirements: list[str],
          wheels: Path) -> dict:
    started = time.monotonic()
    data, built, stderr = resolve(python, arch, glibc_minor, requirements, wheels)
    result = {"python": python, "arch": arch, "seconds": round(time.monotonic() - started, 1),
              "built_from_sdist": built}
    if data is None:
        errors = [line for line in stderr.splitlines()
                  if line.startswith("ERROR") and "Ignored the following" not in line]
        return {**result, "ok": False, "problems": errors or [stderr.strip()[-500:]]}
    installed = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
                 for i in data["install"]}
    problems = verdict(arch, installed)
    return {**result, "ok": not problems, "problems": problems, "packages": len(installed),
            "tensorflow": {n: installed[n] for n in TENSORFLOW.values() if n in installed},
            "installed": installed}


def describe(r: dict) -> str:
    head = f"Python {r['python']} {r['arch']}: "
    if not r["ok"]:
        return head + "FAILED - " + "; ".join(r["problems"])
    tf = ", ".join(f"{n} {v}" for n, v in r["tensorflow"].items())
    sdists = (f", pure-Python sdists built: {', '.join(r['built_from_sdist'])}"
              if r["built_from_sdist"] else "")
    return (head + f"OK, {r['packages']} packages, {tf}, no {GPU_ONLY_PREFIX}*{sdists} "
            f"({r['seconds']} s)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", nargs="+", default=None,
                   help="Python versions (X.Y); default: the Dockerfile's ARG PYTHON_VERSION")
    p.add_argument("--arch", nargs="+", default=list(TENSORFLOW), choices=list(TENSORFLOW))
    p.add_argument("--glibc", default="2.41", help="the target's glibc (Debian trixie: 2.41)")
    args = p.parse_args(argv)
    pythons = args.python or [dockerfile_python()]
    glibc_minor = int(args.glibc.split(".")[1])
    requirements = project_requirements()
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        wheels.mkdir()
        results = [check(py, arch, glibc_minor, requirements, wheels)
                   for py in pythons for arch in args.arch]
    for r in results:
        print(describe(r), flush=True)
    summary = [{k: v for k, v in r.items() if k != "installed"} for r in results]
    print(json.dumps({"ok": all(r["ok"] for r in results), "targets": summary}))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
