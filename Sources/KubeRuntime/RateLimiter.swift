/// How long to wait before retrying an item (client-go `workqueue.TypedRateLimiter`).
public protocol RateLimiter<Item>: Sendable {
    associatedtype Item: Hashable & Sendable
    /// The delay before `item` may be processed again; counts a failure.
    mutating func when(_ item: Item, now: Duration) -> Duration
    /// Forgets `item`'s failures (it succeeded).
    mutating func forget(_ item: Item)
    /// How many times `item` has been requeued since it was last forgotten.
    func numRequeues(_ item: Item) -> Int
}

/// Per-item exponential backoff: `base · 2^failures`, capped at `max` (client-go
/// `ItemExponentialFailureRateLimiter`).
public struct ItemExponentialFailureRateLimiter<Item: Hashable & Sendable>: RateLimiter {
    public var base: Duration
    public var max: Duration
    private var failures: [Item: Int] = [:]

    public init(base: Duration, max: Duration) {
        self.base = base
        self.max = max
    }

    public mutating func when(_ item: Item, now: Duration) -> Duration {
        let exp = failures[item, default: 0]
        failures[item] = exp + 1
        // 2^exp overflows long before it matters; cap the exponent.
        guard exp < 62 else { return max }
        let factor = Double(UInt64(1) << UInt64(exp))
        let seconds = base.seconds * factor
        return seconds >= max.seconds ? max : .seconds(seconds)
    }

    public mutating func forget(_ item: Item) { failures[item] = nil }
    public func numRequeues(_ item: Item) -> Int { failures[item, default: 0] }
}

/// An overall token bucket (`qps` tokens per second, `burst` capacity), like client-go's
/// `BucketRateLimiter` over golang.org/x/time/rate: each call reserves a token, possibly in the future.
public struct BucketRateLimiter<Item: Hashable & Sendable>: RateLimiter {
    public var qps: Double
    public var burst: Int
    private var tokens: Double
    private var last: Duration?

    public init(qps: Double, burst: Int) {
        self.qps = qps
        self.burst = burst
        tokens = Double(burst)
    }

    public mutating func when(_ item: Item, now: Duration) -> Duration {
        if let last {
            tokens = Swift.min(Double(burst), tokens + (now - last).seconds * qps)
        }
        last = now
        tokens -= 1
        return tokens >= 0 ? .zero : .seconds(-tokens / qps)
    }

    public mutating func forget(_ item: Item) {}
    public func numRequeues(_ item: Item) -> Int { 0 }
}

/// The largest delay of several limiters (client-go `MaxOfRateLimiter`).
public struct MaxOfRateLimiter<Item: Hashable & Sendable>: RateLimiter {
    public var limiters: [any RateLimiter<Item>]

    public init(_ limiters: [any RateLimiter<Item>]) { self.limiters = limiters }

    /// client-go's `DefaultTypedControllerRateLimiter`: 5 ms → 1000 s per item, and 10 qps / burst 100 overall.
    public static func controllerDefault() -> MaxOfRateLimiter<Item> {
        MaxOfRateLimiter([
            ItemExponentialFailureRateLimiter<Item>(base: .milliseconds(5), max: .seconds(1000)),
            BucketRateLimiter<Item>(qps: 10, burst: 100),
        ])
    }

    public mutating func when(_ item: Item, now: Duration) -> Duration {
        var longest = Duration.zero
        for i in limiters.indices {
            longest = Swift.max(longest, limiters[i].when(item, now: now))
        }
        return longest
    }

    public mutating func forget(_ item: Item) {
        for i in limiters.indices { limiters[i].forget(item) }
    }

    public func numRequeues(_ item: Item) -> Int { limiters.map { $0.numRequeues(item) }.max() ?? 0 }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
