"""The recommenders behind one interface (`base.Recommender`), their parameters (`params`) and
the one table of them (`registry`), the id maps and matrix they read (`interactions`), and the
candidate searches over inner products (`search`)."""
