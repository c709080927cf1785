"""The cascade's models: layers, the delay pattern, the stage LM and the three-stage cascade."""

from hafm.model.lm import StageLM

__all__ = ["StageLM"]
