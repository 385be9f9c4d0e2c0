import Foundation
import Autoscaling
import Placement

/// Cluster-wide latencies of one scrape interval, for the timeline's exact P90s (reporting only; the
/// autoscalers read the instances' histograms through the controller's pipeline).
struct IntervalAggregate {
    var ttfts: [Double] = []
    var itls: [(Double, Int)] = []
}

/// One timeline row: a pool at the end of a scrape interval.
public struct TimelineRow: Sendable, Hashable {
    public var time: Double
    public var pool: String
    public var role: InstanceRole
    public var desired: Int
    public var starting: Int
    public var ready: Int
    /// Ready instances the P/D gate admits to service discovery (= `ready` when not gated).
    public var admitted: Int
    public var draining: Int
    public var gpus: Int
    /// Mean GPU utilisation (0…1) over the pool's ready instances.
    public var gpuUtilization: Double
    /// Prompt tokens/s (prefill pools) or generated tokens/s (decode and mixed pools).
    public var tps: Double
    /// Cluster P90 TTFT and TBT of the interval, ms; `nil` when no request produced that measurement in it
    /// (an empty cell in `timeline.csv`, a gap in the plots).
    public var ttftP90ms: Double?
    public var tbtP90ms: Double?
    /// Ready prefill ÷ ready decode instances of the whole cluster (0 when no decode is ready).
    public var pdRatio: Double
    public var kvUsage: Double
}

/// One autoscaler decision.
public struct ScalingLogEntry: Sendable, Hashable {
    public var time: Double
    public var autoscaler: String
    public var strategy: String
    public var from: Int
    public var to: Int
    public var roles: [String: Int]
    public var active: Bool
    public var reason: String
    public var changed: Bool { from != to }
}

/// One decision of the placement engine in a run.
public struct PlacementLogEntry: Sendable, Hashable {
    public var time: Double
    /// The DeploymentGroup (or the pool placed on its own).
    public var group: String
    public var kind: PlacementDecision.Kind
    public var reason: String
}

/// An arrival window reported on its own (a flash crowd): `[start, end)` in simulated seconds.
public struct ReportWindow: Sendable, Hashable {
    public var name: String
    public var start: Double
    public var end: Double
    public init(name: String, start: Double, end: Double) {
        self.name = name
        self.start = start
        self.end = end
    }
    public func contains(_ t: Double) -> Bool { t >= start && t < end }
}

/// The finished requests that arrived in one `ReportWindow` and how many met the SLO.
public struct WindowOutcome: Sendable, Hashable {
    public var window: ReportWindow
    public var completed = 0
    public var sloMet = 0
    public init(window: ReportWindow) { self.window = window }
    /// Share of the window's finished requests meeting the SLO (0 when none finished).
    public var sloAttainment: Double { completed > 0 ? Double(sloMet) / Double(completed) : 0 }
}

/// The outcome of a run.
public struct SimulationResult: Sendable {
    /// Every finished request, when `SimulationConfig.recordRequests` is on.
    public var requests: [RequestRecord] = []
    /// Streaming statistics of every finished request (always kept).
    public var requestStats = RequestStats()
    public var timeline: [TimelineRow] = []
    public var scaling: [ScalingLogEntry] = []
    /// Per scrape interval: (end time, P90 TTFT ms, P90 TBT ms) cluster-wide; `nil` without a measurement.
    public var intervalLatency: [(time: Double, ttftP90ms: Double?, tbtP90ms: Double?)] = []
    public var arrived = 0
    public var completed = 0
    public var unfinished = 0
    public var tokensAsked = 0
    public var tokensOut = 0
    public var peakInFlight = 0
    public var preemptions = 0
    public var endTime = 0.0
    public var lastArrival = 0.0
    public var gpuSeconds = 0.0
    /// GPU-seconds per GPU type (cold and draining instances included), for cost.
    public var gpuSecondsByType: [String: Double] = [:]
    /// Prompt tokens of the finished requests (with `tokensOut`, the tokens served).
    public var promptTokensDone = 0
    /// Per `SimulationConfig.reportWindows` entry, in order: the SLO attainment of the requests arriving in it.
    public var windows: [WindowOutcome] = []
    /// Every placement decision of the engine, with its reason.
    public var placementLog: [PlacementLogEntry] = []
    /// What the engine found wrong with the cluster's nodes.
    public var placementWarnings: [String] = []
    /// ∫ requests in the system dt (Little's law: ÷ time = mean number in system).
    public var inSystemArea = 0.0
    /// GPU-weighted utilisation integral (÷ `gpuSeconds` = mean utilisation of allocated GPUs).
    public var gpuUtilSeconds = 0.0
    /// Highest (resident KV tokens + next-step growth) ÷ capacity seen on any instance.
    public var maxKVResidentFraction = 0.0
    public init() {}

    public var gpuHours: Double { gpuSeconds / 3600 }
    public var meanGPUUtilization: Double { gpuSeconds > 0 ? gpuUtilSeconds / gpuSeconds : 0 }
    public var scalingActions: Int { scaling.filter(\.changed).count }
}

extension Simulator {
    /// Samples every live instance for the timeline (and the GPU gauges of its exposition), closes the
    /// interval, writes timeline rows.
    func scrape() {
        let dt = config.scrapeInterval
        for p in pools {
            for i in p.live {
                let inst = instances[i]
                var s = InstanceSample()
                s.running = inst.running.count + (inst.busy && inst.role != .decode ? inst.prefillBatch.count : 0)
                s.waiting = inst.waiting.count + inst.queuedPrompts
                s.kvUsage = Double(inst.kvUsed) / Double(inst.kvCapacity)
                s.promptTPS = Double(inst.promptTokensTotal - inst.sample.promptTokensTotal) / dt
                s.generationTPS = Double(inst.generationTokensTotal - inst.sample.generationTokensTotal) / dt
                s.promptTokensTotal = inst.promptTokensTotal
                s.generationTokensTotal = inst.generationTokensTotal
                // An iteration still running counts up to now.
                var busy = inst.busySeconds
                if inst.busy { busy += now - inst.iterationStart }
                s.busyFraction = min(1, max(0, busy / dt))
                inst.busySeconds = inst.busy ? -(now - inst.iterationStart) : 0
                let resident = inst.residentSeen || inst.kvUsed > 0
                switch inst.role {
                case .prefill: s.gpuUtilization = s.busyFraction
                // Decode GPUs look busy whenever any KV is resident: the cache is pre-allocated and the
                // memory-bound step keeps SMs active (documented heuristic: 0.8 + 0.1 × busy fraction).
                case .decode, .mixed: s.gpuUtilization = resident ? min(1, 0.8 + 0.1 * s.busyFraction) : s.busyFraction
                }
                // SM activity (documented model, not a measurement): prefill is compute-bound, its SMs are
                // ~90 % active while it runs; a decode step is memory-bound, and the share of SMs with work
                // grows with the batch (0.2 at one request to 0.8 at the batch limit).
                switch inst.role {
                case .prefill: s.smActivity = 0.9 * s.busyFraction
                case .decode, .mixed:
                    let occupancy = 0.2 + 0.6 * min(1, Double(inst.running.count) / Double(max(1, inst.maxBatchSize)))
                    s.smActivity = s.busyFraction * occupancy
                }
                inst.residentSeen = !inst.running.isEmpty
                if inst.state != .serving && inst.state != .draining { s.gpuUtilization = 0 }
                inst.sample = s
                result.gpuUtilSeconds += s.gpuUtilization * Double(inst.gpus) * dt
            }
        }
        // An interval in which nothing was measured has no latency (not 0).
        let ttft90 = current.ttfts.isEmpty ? nil : percentile(current.ttfts, 0.9) * 1000
        let tbt90 = current.itls.isEmpty ? nil : weightedPercentile(current.itls, 0.9) * 1000
        result.intervalLatency.append((now, ttft90, tbt90))
        current = IntervalAggregate()

        let readyPrefill = servingPrefill.filter { instances[$0].role == .prefill }.count
        let ratio = servingDecode.isEmpty ? 0 : Double(readyPrefill) / Double(servingDecode.count)
        for p in pools {
            let live = p.live.map { instances[$0] }
            let ready = live.filter { $0.state == .serving }
            let util = ready.isEmpty ? 0 : ready.reduce(0) { $0 + $1.sample.gpuUtilization } / Double(ready.count)
            let tps = live.reduce(0.0) { $0 + (p.spec.role == .prefill ? $1.sample.promptTPS : $1.sample.generationTPS) }
            let kv = ready.isEmpty ? 0 : ready.reduce(0) { $0 + $1.sample.kvUsage } / Double(ready.count)
            result.timeline.append(TimelineRow(
                time: now, pool: p.spec.name, role: p.spec.role, desired: p.desired,
                starting: live.filter { $0.state == .starting }.count, ready: ready.count, admitted: p.admitted,
                draining: live.filter { $0.state == .draining }.count, gpus: live.reduce(0) { $0 + $1.gpus },
                gpuUtilization: util, tps: tps, ttftP90ms: ttft90, tbtP90ms: tbt90, pdRatio: ratio, kvUsage: kv))
        }
        // Groups short of GPUs retry.
        for g in groups.indices where groups[g].pools.contains(where: { pools[$0].unschedulable > 0 }) { reconcileGroup(g) }
    }
}
