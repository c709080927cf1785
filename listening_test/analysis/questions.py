"""The rating questions an export answers: their ids and integer scales.

The export has the columns ``ID_a`` and ``ID_b`` for every question of the study file
(``[[questions]]`` with ``id``, ``min``, ``max``; ``listening_test/study_file.py``). Without a study
file the analysis reads the built-in study's questions: rhythm, harmony and coherence on 1-5.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

SIDES = ("A", "B")


@dataclass(frozen=True)
class RatingQuestion:
    """One question rated for side A and for side B on the integer scale ``low``..``high``."""

    id: str
    low: int = 1
    high: int = 5


DEFAULT_QUESTIONS: tuple[RatingQuestion, ...] = tuple(
    RatingQuestion(qid) for qid in ("rhythm", "harmony", "coherence"))


def question_ids(questions: Sequence[RatingQuestion]) -> tuple[str, ...]:
    return tuple(q.id for q in questions)


def rating_columns(questions: Sequence[RatingQuestion]) -> tuple[str, ...]:
    """``ID_a`` for every question, then ``ID_b`` (the export's order)."""
    return tuple(f"{q.id}_{side.lower()}" for side in SIDES for q in questions)


def scale_text(questions: Sequence[RatingQuestion]) -> str:
    """``"1-5"`` when every question has that scale, else each question's (``"melody 1-7, groove 1-3"``)."""
    scales = {(q.low, q.high) for q in questions}
    if len(scales) == 1:
        low, high = scales.pop()
        return f"{low}-{high}"
    return ", ".join(f"{q.id} {q.low}-{q.high}" for q in questions)


def scale_span(questions: Sequence[RatingQuestion]) -> tuple[int, int]:
    """The lowest and the highest scale point of any question (a shared figure axis)."""
    return min(q.low for q in questions), max(q.high for q in questions)


@dataclass(frozen=True)
class StudyQuestions:
    """What the analysis needs from a study file: its id and its questions."""

    study_id: str
    questions: tuple[RatingQuestion, ...]


def questions_from_study(path: str | os.PathLike) -> StudyQuestions:
    """The id and questions of a study file (TOML/YAML, read by ``listening_test.study_file``)."""
    from listening_test.study_file import load_study

    study = load_study(path)
    return StudyQuestions(study.study_id, tuple(RatingQuestion(q.id, q.min, q.max) for q in study.questions))


def other_rating_columns(columns: Sequence[str], questions: Sequence[RatingQuestion]) -> list[str]:
    """Question ids of ``ID_a``/``ID_b`` column pairs that ``questions`` do not ask (for error hints)."""
    present = set(columns)
    known = {"system", "plays", *question_ids(questions)}
    return sorted(c[:-2] for c in present if c.endswith("_a") and f"{c[:-2]}_b" in present and c[:-2] not in known)
