import Foundation
import Autoscaling
import Placement

/// Cluster-wide totals of one scrape interval.
struct IntervalAggregate {
    var seconds = 0.0
    var arrivals = 0
    var promptTokensArrived = 0
    var outputTokensArrived = 0
    var promptTokens = 0
    var generationTokens = 0
    var completions = 0
    var responseSeconds = 0.0
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
    /// Samples every live instance (vLLM-like values), closes the interval, writes timeline rows.
    func scrape() {
        let dt = config.scrapeInterval
        current.seconds = dt
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
                if !inst.ttfts.isEmpty {
                    let p = percentiles(inst.ttfts, [0.5, 0.9, 0.99])
                    s.ttftP50 = p[0]; s.ttftP90 = p[1]; s.ttftP99 = p[2]
                }
                if !inst.itls.isEmpty {
                    let p = weightedPercentiles(inst.itls, [0.5, 0.9, 0.99])
                    s.itlP50 = p[0]; s.itlP90 = p[1]; s.itlP99 = p[2]
                }
                inst.ttfts.removeAll(keepingCapacity: true)
                inst.itls.removeAll(keepingCapacity: true)
                if inst.state != .serving && inst.state != .draining { s.gpuUtilization = 0 }
                inst.sample = s
                result.gpuUtilSeconds += s.gpuUtilization * Double(inst.gpus) * dt
            }
        }
        // Rates go through the controller's metric-window code (sample-and-hold over the signal window).
        let at = date(now)
        decodeTPSWindow.fill(Double(current.generationTokens) / dt, at: at)
        prefillTPSWindow.fill(Double(current.promptTokens) / dt, at: at)
        arrivalWindow.fill(Double(current.arrivals) / dt, at: at)
        intervals.append(current)
        let keep = max(1, Int((config.signalWindow / dt).rounded(.up)))
        if intervals.count > keep { intervals.removeFirst(intervals.count - keep) }
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

    /// Aggregate signals over the trailing window (keys in `Autoscaling.Signal`).
    func signals() -> [String: Double] {
        let secs = max(1e-9, intervals.reduce(0) { $0 + $1.seconds })
        var ttfts: [Double] = []
        var itls: [(Double, Int)] = []
        var arrivals = 0, isl = 0, osl = 0, completions = 0
        var prompt = 0, gen = 0
        var response = 0.0
        for iv in intervals {
            ttfts += iv.ttfts
            itls += iv.itls
            arrivals += iv.arrivals
            isl += iv.promptTokensArrived
            osl += iv.outputTokensArrived
            prompt += iv.promptTokens
            gen += iv.generationTokens
            completions += iv.completions
            response += iv.responseSeconds
        }
        let itlWeight = itls.reduce(0) { $0 + $1.1 }
        let decodeKV = servingDecode.isEmpty ? 0
            : servingDecode.reduce(0) { $0 + instances[$1].sample.kvUsage } / Double(servingDecode.count)
        let at = date(now)
        var s: [String: Double] = [
            "decode_tps": decodeTPSWindow.average(at: at) ?? Double(gen) / secs,
            "prefill_tps": prefillTPSWindow.average(at: at) ?? Double(prompt) / secs,
            "num_requests": arrivalWindow.average(at: at) ?? Double(arrivals) / secs,
            "interval_s": secs,
            "decode_kv_usage": decodeKV,
        ]
        if arrivals > 0 {
            s["avg_isl"] = Double(isl) / Double(arrivals)
            s["avg_osl"] = Double(osl) / Double(arrivals)
        }
        // Latency signals only when the window measured some: a strategy must see "no data", never 0 ms.
        if !ttfts.isEmpty {
            s["ttft_p90_ms"] = percentile(ttfts, 0.9) * 1000
            s["ttft_ms"] = ttfts.reduce(0, +) / Double(ttfts.count) * 1000
        }
        if itlWeight > 0 { s["tbt_p90_ms"] = weightedPercentile(itls, 0.9) * 1000 }
        if itlWeight > 0 { s["itl_ms"] = itls.reduce(0) { $0 + $1.0 * Double($1.1) } / Double(itlWeight) * 1000 }
        if completions > 0 { s["request_duration_s"] = response / Double(completions) }
        return s
    }
}
