"""Which models to publish: model specifications, tuning within a budget on a validation
window, the winners per task and the quality gate."""
