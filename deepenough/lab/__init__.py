"""The lab: model loading, tiny models, training, tasks, statistics and plotting. It imports nothing above it."""
