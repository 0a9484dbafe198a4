"""The one training loop shared by every method."""

from lcwbench.train.loop import TrainResult, seed_everything, train

__all__ = ["TrainResult", "seed_everything", "train"]
