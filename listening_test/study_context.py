"""The running study: what the server holds of it while it serves, one ``StudyContext`` per app.

``factory.create_app`` builds it once from the study file (``study_file.py``): the study's
configuration, its stimuli manifest (checksums verified, checked against the study) and, per catch
kind, the items that have its stimuli. Requests read it with ``current_context()``. What changes
while the study runs (sessions, answers, playback) lives in the database (``store.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app

from .manifest import Manifest, check_study_against_manifest, load_manifest
from .plan import CATCH_KINDS
from .study_file import StudyConfig


@dataclass(frozen=True)
class StudyContext:
    study: StudyConfig
    manifest: Manifest
    catch_items: dict[str, list[str]]  # catch kind -> items that have its stimuli


def load_context(study: StudyConfig) -> StudyContext:
    """The context of ``study``: its manifest with every file's checksum verified, checked against
    the study (systems, pairs, catch stimuli)."""
    manifest = load_manifest(study.manifest_path, verify=True)
    check_study_against_manifest(study, manifest)
    catch_items = {kind: [it.id for it in manifest.items if name in it.stimuli] for kind, name in CATCH_KINDS.items()}
    return StudyContext(study=study, manifest=manifest, catch_items=catch_items)


def current_context() -> StudyContext:
    """The app's study context; 503 when the server was started without a study."""
    ctx = current_app.extensions.get("study")
    if ctx is None:
        abort(503, description="no study is configured (set LISTENING_TEST_STUDY)")
    return ctx
