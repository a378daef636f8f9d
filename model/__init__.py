"""Learning, pure: face detection and crops, the Keras scorer, RankNet training, metrics.

Knows nothing of Discord or databases.
"""
