from osp.distribution.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_holds_the_rate_over_time() -> None:
    clock = Clock()
    bucket = TokenBucket(1_000_000, clock=clock, sleep=clock.sleep)
    for _ in range(200):
        bucket.consume(64 * 1024)
    sent = 200 * 64 * 1024
    # the burst (250 kB) goes at once, the rest at 1 MB/s
    assert abs(clock.now - (sent - bucket.burst) / 1_000_000) < 0.001


def test_idle_time_refills_only_up_to_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(100_000, burst=50_000, clock=clock, sleep=clock.sleep)
    clock.now = 1000.0
    bucket.consume(50_000)
    assert clock.now == 1000.0
    bucket.consume(10_000)
    assert abs(clock.now - 1000.1) < 1e-9


def test_upload_budget_gives_bittorrent_what_http_leaves() -> None:
    from osp.distribution.ratelimit import UploadBudget

    budget = UploadBudget(3_000_000, window=2.0)
    assert budget.floor == 3_000_000 // 16
    now, sent = 100.0, 0
    assert budget.bittorrent_limit(now, sent) == 3_000_000  # no HTTP yet: all of it
    for _ in range(10):  # HTTP at 1 MB/s
        now, sent = now + 0.5, sent + 500_000
        bt = budget.bittorrent_limit(now, sent)
    assert abs(bt - 2_000_000) < 1000
    for _ in range(10):  # HTTP takes the whole limit: BitTorrent keeps the floor only
        now, sent = now + 0.5, sent + 1_500_000
        bt = budget.bittorrent_limit(now, sent)
    assert bt == budget.floor
    for _ in range(6):  # HTTP stops: after the window BitTorrent gets everything back
        now += 0.5
        bt = budget.bittorrent_limit(now, sent)
    assert bt == 3_000_000


def test_bucket_counts_what_it_lets_through() -> None:
    clock = Clock()
    bucket = TokenBucket(1_000_000, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        bucket.consume(1000)
    assert bucket.sent == 5000
