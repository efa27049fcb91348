from marketplace.adapters.bucket_cache import DecodedBuckets


def test_kept_per_database_and_revision() -> None:
    cache = DecodedBuckets()
    cache.put("wk_marketplace_a", "helper|x", "r1", [("p1", 1)])
    assert cache.get("wk_marketplace_a", "helper|x", "r1") == [("p1", 1)]
    assert cache.get("wk_marketplace_a", "helper|x", "r2") is None
    assert cache.get("wk_marketplace_b", "helper|x", "r1") is None  # another tenant
    assert cache.get("wk_marketplace_a", "helper|x", None) is None  # no revision stored


def test_bounded_least_recently_used_first() -> None:
    cache = DecodedBuckets(max_buckets=2)
    cache.put("db", "a", "r", [])
    cache.put("db", "b", "r", [])
    assert cache.get("db", "a", "r") == []  # a is now the most recently used
    cache.put("db", "c", "r", [])
    assert len(cache) == 2
    assert cache.get("db", "b", "r") is None
    assert cache.get("db", "a", "r") == [] and cache.get("db", "c", "r") == []


def test_forget() -> None:
    cache = DecodedBuckets()
    cache.put("db", "a", "r", [("p", 1)])
    cache.forget("db", "a")
    cache.forget("db", "never")
    assert cache.get("db", "a", "r") is None
