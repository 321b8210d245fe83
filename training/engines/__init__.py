"""Training engines besides the single-machine pipeline (`training.pipeline`): each produces the
same artifact (`models.contract.artifact`) from the same inputs and cleaning rules."""
