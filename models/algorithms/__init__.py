"""The recommenders behind one interface (`base.Recommender`), their registry, the id maps and
matrix they read (`interactions`), and the candidate searches over inner products (`search`)."""
