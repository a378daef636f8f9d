"""Ranking losses, one per file."""

from model.losses.ranknet import RankNetLoss, ranknet

__all__ = ["RankNetLoss", "ranknet"]
