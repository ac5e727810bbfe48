"""X and Bluesky, asked about physicians' accounts: typed clients (:mod:`.x`, :mod:`.bluesky`) on the
process's aiohttp session under the shared rate budgets, and the daily sync (:mod:`.sync`) that keeps
what they say in ``store.presence``."""
