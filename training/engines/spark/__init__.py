"""The training job on Apache Spark (`microoffers train --engine spark`).

Spark does what grows with the shop: reading and checking the file, the cleaning rules and
their counts, the confidence features (Spark SQL), ALS, the per-customer lists (each partition
searches its customers against broadcast item factors with the project's own exact search) and
the k-means of the micro-segments. What is item-sized or needs the whole history at once
(catalog, purchase history and replenishment arrays, popularity, the storefront's other parts)
is computed by the single-machine steps on Spark's cleaned output, collected to the driver.
Not produced: tuning and the two-stage ranker (the lists come from ALS), and folded-in feedback
events (`--events-from` is refused). See docs/scaling.md, "Training on Spark: measured".
"""
