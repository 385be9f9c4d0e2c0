import Foundation
import Simulation
import Synchronization

/// The simulator as the sandbox's data plane: a `LiveEngine` behind a lock, its simulated time driven by an
/// injected wall clock × `speed`. Traffic time starts when the first instance enters service (so the time it
/// takes to `kubectl apply` and cold-start the first pods does not pile up a backlog): until then the engine
/// stays at t = 0 and its instances wait, `starting`.
public final class SandboxEngine: Sendable {
    private struct State: @unchecked Sendable {
        var engine: LiveEngine
        /// Wall time of simulated t = 0 (nil: no instance has served yet).
        var trafficStart: Double?
        var lost = 0
    }

    private let state: Mutex<State>
    /// Simulated seconds per wall-clock second.
    public let speed: Double
    private let wallClock: @Sendable () -> Double

    /// `wallClock` is seconds on any monotonic axis (tests inject a manual one).
    public init(engine: LiveEngine, speed: Double, wallClock: @escaping @Sendable () -> Double) {
        state = Mutex(State(engine: engine))
        self.speed = speed
        self.wallClock = wallClock
    }

    /// Simulated time now (0 before traffic starts).
    public func simulatedNow() -> Double {
        state.withLock { s in s.trafficStart.map { max(0, (wallClock() - $0) * speed) } ?? 0 }
    }

    /// Advances the engine to the simulated time of the wall clock now; returns it.
    @discardableResult
    public func advance() throws -> Double {
        let wall = wallClock()
        return try state.withLock { s in
            guard let start = s.trafficStart else { return s.engine.now }
            let t = max(s.engine.now, (wall - start) * speed)
            try s.engine.advance(to: t)
            return t
        }
    }

    public func add(id: String, pool: String, gpuType: String, node: String?) throws {
        try state.withLock { try $0.engine.addInstance(id: id, pool: pool, gpuType: gpuType, node: node) }
    }

    /// Puts an instance in or out of service; the first instance in service starts the traffic clock.
    public func setServing(id: String, _ serving: Bool) throws {
        let wall = wallClock()
        try state.withLock { s in
            if serving && s.trafficStart == nil { s.trafficStart = wall }
            try s.engine.advance(to: s.trafficStart.map { max(s.engine.now, (wall - $0) * speed) } ?? s.engine.now)
            try s.engine.setServing(id: id, serving)
        }
    }

    /// Removes an instance; returns how many requests were retried and lost.
    @discardableResult
    public func remove(id: String) throws -> RemovalOutcome {
        try state.withLock { s in
            let outcome = try s.engine.removeInstance(id: id)
            s.lost += outcome.lost
            return outcome
        }
    }

    /// The instance's `/metrics` text (nil: unknown id). Counters and histograms are divided by `speed`: a
    /// controller's rate over wall seconds is then tokens (requests) per simulated second, as at speed 1, so the
    /// same targets apply; latencies are simulated seconds at any speed.
    public func metricsText(_ id: String) -> String? { state.withLock { $0.engine.metricsText(id, counterScale: 1 / speed) } }

    public func status(_ id: String) -> LiveInstanceStatus? { state.withLock { $0.engine.status(id) } }

    /// A one-line summary: simulated time, requests in flight, finished, lost.
    public func summary() -> (time: Double, inFlight: Int, finished: Int, lost: Int) {
        state.withLock { s in (s.engine.now, s.engine.inFlight, s.engine.result.completed, s.lost) }
    }
}
