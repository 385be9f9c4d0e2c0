import Foundation
import Synchronization

/// What the emulator received, by method, path and watch-ness: lets a test bound a client's retries
/// ("no retry storm") and count the faults it injected.
struct TrafficLog: Sendable {
    struct Key: Hashable, Sendable {
        var method: String
        var path: String
        var watch: Bool
    }

    var counts: [Key: Int] = [:]
    var failed = 0
    var delayed = 0

    mutating func record(_ req: APIRequest, _ decision: FaultDecision) {
        let watch = req.query["watch"] == "1" || req.query["watch"] == "true"
        counts[Key(method: req.method, path: req.path, watch: watch), default: 0] += 1
        switch decision {
        case .none: break
        case .fail: failed += 1
        case .delay: delayed += 1
        }
    }
}

/// Figures from the emulator's traffic log.
public struct TrafficSummary: Sendable, Equatable {
    /// Requests received (including those answered with an injected fault).
    public var requests: Int
    /// Requests answered with an injected failure.
    public var injectedFailures: Int
    /// Requests answered after an injected delay.
    public var injectedDelays: Int
}

extension KubeEmulator {
    /// How many requests matched: `method` (nil = any), a path containing `pathContains` (nil = any), watch
    /// requests only (true), non-watch only (false) or both (nil). Counts faulted requests too.
    public func requestCount(method: String? = nil, pathContains: String? = nil, watch: Bool? = nil) -> Int {
        engine.traffic.withLock { log in
            log.counts.reduce(0) { sum, entry in
                let k = entry.key
                if let method, method.uppercased() != k.method { return sum }
                if let pathContains, !k.path.contains(pathContains) { return sum }
                if let watch, watch != k.watch { return sum }
                return sum + entry.value
            }
        }
    }

    /// Totals since the start (or the last `resetTraffic()`).
    public var traffic: TrafficSummary {
        engine.traffic.withLock { log in
            TrafficSummary(requests: log.counts.values.reduce(0, +), injectedFailures: log.failed, injectedDelays: log.delayed)
        }
    }

    /// Forgets the traffic counted so far.
    public func resetTraffic() { engine.traffic.withLock { $0 = TrafficLog() } }

}
