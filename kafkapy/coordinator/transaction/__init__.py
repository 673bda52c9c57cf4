"""Transaction coordinator pieces. Only producer id allocation exists: the broker serves the
idempotent producer (InitProducerId without a transactional id), not transactions."""
