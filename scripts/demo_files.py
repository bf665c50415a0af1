"""What `make demo` wrote, so that `make clean-demo` removes exactly that and nothing else.

The demo lists every path it writes in `.demo/written.txt` (git-ignored) as it goes: its model
folder (before the backtest starts, so an interrupted run is listed too), the backtest result
files and charts that appeared during the run (not files that were there before, such as
freqtrade's `.last_result.json` or a user's own chart), its PNG. `.demo/demo.json` holds the
last demo's identifier, so `freqtrade plot-dataframe -c config.json -c config.replay.json
-c .demo/demo.json` reuses its predictions. `clean` removes the listed paths that still exist,
only inside user_data/ and .demo/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


class DemoFiles:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / ".demo"
        self.manifest = self.folder / "written.txt"
        self.config = self.folder / "demo.json"

    def write_config(self, identifier: str) -> Path:
        """`.demo/demo.json`: the config overlay naming this demo's identifier."""
        self.folder.mkdir(exist_ok=True)
        self.config.write_text(json.dumps({"freqai": {"identifier": identifier}}, indent=2))
        self.record(self.config)
        return self.config

    def record(self, *paths: Path) -> None:
        self.folder.mkdir(exist_ok=True)
        listed = set(self.listed())
        with self.manifest.open("a") as out:
            for path in paths:
                relative = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
                if relative not in listed:
                    listed.add(relative)
                    out.write(relative + "\n")

    def listed(self) -> list[str]:
        return self.manifest.read_text().split() if self.manifest.exists() else []

    @staticmethod
    def snapshot(folder: Path) -> dict[Path, int]:
        """Every file under `folder` -> its mtime (ns)."""
        return {p: p.stat().st_mtime_ns for p in Path(folder).rglob("*") if p.is_file()}

    def record_new(self, folder: Path, before: dict[Path, int]) -> None:
        """Record the files under `folder` that appeared since `before` (a snapshot)."""
        self.record(*sorted(set(self.snapshot(folder)) - set(before)))

    def clean(self) -> list[str]:
        """Remove every listed path (inside user_data/ or .demo/), then the list; returns the
        removed paths."""
        allowed = [self.root.resolve() / "user_data", self.folder.resolve()]
        removed = []
        for relative in self.listed():
            path = (self.root / relative).resolve()
            if not any(path.is_relative_to(a) and path != a for a in allowed):
                continue
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                continue
            removed.append(relative)
        if self.manifest.exists():
            self.manifest.unlink()
        return removed
