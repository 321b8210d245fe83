"""The domain core: what an answer is (recommend, personal store, similar items, segments,
outbound), what events do, and what forgetting a customer means. Routes and the hot path only
translate to and from these calls."""
