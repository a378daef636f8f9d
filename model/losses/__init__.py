"""Ranking losses, one per file."""

from model.losses.ranknet import RankNetLoss, ranknet
from model.losses.stacked_ranknet import StackedRankNetLoss

__all__ = ["RankNetLoss", "StackedRankNetLoss", "ranknet"]
