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
