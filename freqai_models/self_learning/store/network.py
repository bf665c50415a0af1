"""One network on disk: a SavedModel folder, written from a graph template or in full.

Given a snapshot of the module's variables (`snapshot.snapshot_variables`) and the caller's
graph key, the graph files come from a template (`templates.py`: this process's earlier full
save with that key, for any pair, or the pair's previous version on disk) and only the
checkpoint is written, from the snapshot, with one SaveV2 op: no tracing, a few ms. Without a
fitting template the module itself is saved with `tf.saved_model.save` (it must hold the
snapshot's values), and that save becomes the template for its key. As a guard, a template is
used only when the snapshot's variable layout (checkpoint keys, shapes, dtypes) equals the
template's; otherwise the graph key lied (e.g. an optimizer built lazily after the first
save) and the network is written in full.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from self_learning.store.layout import VARIABLES_PREFIX
from self_learning.store.templates import (
    GraphTemplate,
    GraphTemplates,
)

logger = logging.getLogger(__name__)


def save_network(dest: Path, graph_key: str, values: Mapping[str, np.ndarray],
                 module: Callable[[], tf.Module], templates: GraphTemplates,
                 previous: tuple[Path, Mapping[str, Any]] | None) -> tuple[bool, str]:
    """Write one network into the new folder `dest`; returns (graph reused, variables layout).

    `module()` is called only for a full save and must return the module holding `values`."""
    name = dest.name
    template = templates.get(name, graph_key) or _template_from(previous, graph_key)
    if template is not None and _write_from(template, dest, values):
        templates.put(name, graph_key, template)
        return True, template.layout_hash
    if template is not None:
        logger.warning(
            "%s: graph key %r is unchanged but the variables differ from its saved graph; "
            "writing the full SavedModel (build every variable, incl. optimizer slots, before "
            "the first save).", name, graph_key)
    with templates.making(name, graph_key):
        made = templates.get(name, graph_key)  # another pair's writer may have made it
        if made is not None and made is not template and _write_from(made, dest, values):
            return True, made.layout_hash
        tf.saved_model.save(module(), str(dest))
        template = GraphTemplate.from_saved_model(dest)
        templates.put(name, graph_key, template)
    return False, template.layout_hash


def _write_from(template: GraphTemplate, dest: Path, values: Mapping[str, np.ndarray]) -> bool:
    """Write `dest` from the template; False (nothing written) when it does not fit. The
    layout written is the one checked here (SaveV2 writes exactly the keys it is given)."""
    if not template.fits(values):
        return False
    template.write(dest, values)
    return True


def _template_from(previous: tuple[Path, Mapping[str, Any]] | None,
                   graph_key: str) -> GraphTemplate | None:
    """The template of the pair's previous version when its graph key matches and its graph
    files are intact (a damaged one is passed over with a warning)."""
    if previous is None:
        return None
    prev_dir, doc = previous
    if doc.get("graph_key") != graph_key or not doc.get("variables_layout"):
        return None
    try:
        template = GraphTemplate.from_saved_model(prev_dir, doc["files"])
    except Exception as err:  # noqa: BLE001 - any unreadable file means "write in full"
        logger.warning("Not reusing the graph of %s: %s", prev_dir, err)
        return None
    return template if template.layout_hash == doc["variables_layout"] else None


# An upgrade reads a checkpoint of an earlier layout into a module: (network name, module,
# checkpoint prefix, that network's stored metadata) -> True when it did (every saved value
# accounted for), False to refuse. The store knows no layouts; the learner supplies this.
Upgrade = Callable[[str, tf.Module, str, Mapping[str, Any]], bool]


def read_network(module: tf.Module, folder: Path, name: str = "",
                 doc: Mapping[str, Any] | None = None, upgrade: Upgrade | None = None) -> bool:
    """Read a network's checkpoint into `module`; raises when they do not match exactly and
    `upgrade` (if given) cannot read it either. Returns True when it was upgraded."""
    prefix = str(folder / VARIABLES_PREFIX)
    try:
        status = tf.train.Checkpoint(root=module).read(prefix)
        try:
            status.assert_existing_objects_matched()
            status.assert_consumed()
        except AssertionError:
            status.expect_partial()  # the error says what did not match; no warnings at exit
            raise
    except (AssertionError, ValueError):  # a value missing, left over, or of another shape
        if upgrade is None or not upgrade(name, module, prefix, doc or {}):
            raise
        logger.info("%s: read a checkpoint of an earlier layout (upgraded)", folder)
        return True
    return False
